"""``python -m fc_cassette`` is ``fc-cassette``."""

import sys

from fc_cassette.cli.app import main

sys.exit(main())
