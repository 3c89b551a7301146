"""``python -m equirec.cli``."""

import sys

from equirec.cli.main import main

sys.exit(main())
