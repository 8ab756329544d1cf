"""``moss-agent model check`` and ``moss-agent model info``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001
    """Add this package's sub-commands to ``sub``."""
    model = sub.add_parser("model", help="inspect and verify a MOSS-Audio checkpoint")
    model_sub = model.add_subparsers(dest="model_command", metavar="ACTION", required=True)

    check = model_sub.add_parser(
        "check",
        help="compare a checkpoint with an expected-values directory",
        description="Load CHECKPOINT, feed it the inputs recorded in DIR (expected.json + "
        "expected.safetensors) and compare every recorded quantity. Exit 1 on any failure.",
    )
    check.add_argument("checkpoint", type=Path, help="MOSS-Audio checkpoint directory")
    check.add_argument(
        "--expected", type=Path, required=True, metavar="DIR", help="expected values"
    )
    check.add_argument(
        "--dtype", default="float32", help="float32 (default, as the vectors), bfloat16, float16"
    )
    check.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    check.set_defaults(func=_check)

    info = model_sub.add_parser(
        "info",
        help="parameters, dtype and memory of a checkpoint",
        description="Describe a checkpoint without loading its weights.",
    )
    info.add_argument("checkpoint", type=Path, help="MOSS-Audio checkpoint directory")
    info.set_defaults(func=_info)


def _check(args: argparse.Namespace) -> int:
    from agent.cli.errors import UsageError
    from perception.moss.configuration import MossConfigError
    from perception.moss.loading import MossCheckpointError, load_moss_audio
    from perception.moss.parity import ExpectedData, ExpectedDataError, run_checks

    try:
        data = ExpectedData.load(args.expected)
        model, processor = load_moss_audio(args.checkpoint, dtype=args.dtype, device=args.device)
    except (ExpectedDataError, MossConfigError, MossCheckpointError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    print(f"checkpoint {args.checkpoint} ({args.dtype}, {model.device}) vs {args.expected}")
    checks = run_checks(model, processor, data)
    width = max(len(c.name) for c in checks)
    for c in checks:
        numbers = ""
        if c.max_abs_diff is not None:
            numbers = f"max_abs_diff={c.max_abs_diff:.3e}"
            if c.tolerance is not None:
                numbers += f"  tol={c.tolerance:g}"
        status = "PASS" if c.passed else "FAIL"
        print(f"{status}  {c.name:<{width}}  {numbers}  {c.detail}".rstrip())
    failed = [c for c in checks if not c.passed]
    print(f"{len(checks) - len(failed)}/{len(checks)} passed")
    return 1 if failed else 0


def _info(args: argparse.Namespace) -> int:
    from perception.moss.info import describe_checkpoint

    info = describe_checkpoint(args.checkpoint)
    print(f"checkpoint   {args.checkpoint}")
    print(
        f"files        {info.n_files} safetensors file(s), stored as {', '.join(info.stored_dtypes)}"
    )
    print(f"tokenizer    {'yes' if info.has_tokenizer else 'no (ids-only use)'}")
    print(f"audio        {info.encoder_summary}")
    print(f"language     {info.language_summary}")
    print("parameters")
    width = max(len(name) for name in info.parameters)
    for name, count in info.parameters.items():
        print(f"  {name:<{width}}  {count:>15,}")
    print(f"  {'total':<{width}}  {info.total_parameters:>15,}")
    print("memory for the weights (plus activations and KV cache)")
    for dtype, size in info.weight_bytes.items():
        print(f"  {dtype:<9} {size / 2**30:8.2f} GiB")
    print(
        "KV cache     "
        + ", ".join(f"{d} {b / 2**20:.2f} MiB" for d, b in info.kv_bytes_per_1k_tokens.items())
        + " per 1000 tokens per sequence"
    )
    return 0
