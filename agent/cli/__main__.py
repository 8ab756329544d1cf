"""`python -m agent.cli`: the moss-agent command."""

import sys

from agent.cli import main

sys.exit(main())
