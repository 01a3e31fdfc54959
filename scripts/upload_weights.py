#!/usr/bin/env python3
"""`python scripts/upload_weights.py [FLAGS]`: the same as `hg-localization upload-weights [FLAGS]`.

A thin wrapper kept for existing habits and docs; every flag, message and exit code is the CLI's.
Run it with the Python that has hg-localization installed (or from a checkout: it falls back to
the source tree next to this script).
"""

from __future__ import annotations

import sys
from pathlib import Path


def run(argv: list[str]) -> int:
    try:
        from hg_localization.cli import main
    except ImportError:  # a checkout without an install: use the source tree beside this script
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
        from hg_localization.cli import main
    return main(["upload-weights", *argv])


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
