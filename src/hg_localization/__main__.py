import sys

from hg_localization.cli.app import main

sys.exit(main())
