"""``python -m vouch``."""

import sys

from vouch.cli import main

sys.exit(main())
