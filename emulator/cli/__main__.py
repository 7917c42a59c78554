"""`python -m emulator.cli`: the `neurram` command without the console script."""
import sys

from emulator.cli import main

sys.exit(main())
