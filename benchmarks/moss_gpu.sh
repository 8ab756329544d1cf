#!/usr/bin/env bash
# The MOSS-Audio GPU check on a bare machine (torch preinstalled, no network).
#
#   bash benchmarks/moss_gpu.sh [--wheels DIR] [--quick] [--serve] [--out DIR] [other moss_gpu.py flags]
#
# Checks that the installed transformers can run perception/moss; if not and --wheels DIR is
# given, installs transformers from the wheels in DIR with pip --no-index (never the
# network), then runs benchmarks/moss_gpu.py. Output: a table on stdout, DIR/moss_gpu.json
# (default benchmarks/out/moss_gpu/).
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
WHEELS=""
ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --wheels) WHEELS="${2:-}"; shift 2 ;;
        --wheels=*) WHEELS="${1#*=}"; shift ;;
        *) ARGS+=("$1"); shift ;;
    esac
done
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

supported() {
    "$PY" -c "import sys; from perception.moss.compat import transformers_supported; sys.exit(0 if transformers_supported() else 1)" 2>/dev/null
}

if ! "$PY" -c "import torch, numpy" 2>/dev/null; then
    echo "error: $PY cannot import torch and numpy; set PYTHON=/path/to/the/image/python" >&2
    exit 3
fi
if ! supported; then
    found=$("$PY" -c "import importlib.metadata as m; print(m.version('transformers'))" 2>/dev/null || echo "none")
    echo "transformers $found cannot run perception/moss (tested: >=5.0,<6)"
    if [ -z "$WHEELS" ]; then
        echo "error: pass --wheels DIR with transformers 5.x wheels and their dependencies (see README, 'Running the GPU check')" >&2
        exit 3
    fi
    echo "installing transformers from $WHEELS (pip --no-index)"
    if ! "$PY" -m pip install --no-index --find-links "$WHEELS" "transformers>=5.0,<6"; then
        # An externally managed or read-only environment: install beside the repository.
        SITE="$PWD/benchmarks/out/site-packages"
        "$PY" -m pip install --no-index --find-links "$WHEELS" --target "$SITE" "transformers>=5.0,<6" || exit 3
        export PYTHONPATH="$SITE:$PYTHONPATH"
    fi
    if ! supported; then
        echo "error: transformers from $WHEELS still cannot run perception/moss" >&2
        exit 3
    fi
fi
exec "$PY" benchmarks/moss_gpu.py "${ARGS[@]}"
