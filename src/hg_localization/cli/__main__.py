import sys

from hg_localization.cli.app import main

if __name__ == "__main__":  # not when `serve --workers N` starts a worker (spawn imports this again)
    sys.exit(main())
