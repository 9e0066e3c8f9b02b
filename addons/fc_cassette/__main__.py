"""``python -m fc_cassette`` is ``fc-cassette``."""

import sys

from .cli import main

sys.exit(main())
