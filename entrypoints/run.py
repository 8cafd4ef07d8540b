"""`python -m unet_defects.run` with the reference's run.py flags (the same as `unet run`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from unet_defects.arguments import add_run_arguments
from unet_defects.cli import command_run, run_guarded


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m unet_defects.run", description="Train or evaluate the UNet.")
    add_run_arguments(parser)
    return run_guarded(command_run, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
