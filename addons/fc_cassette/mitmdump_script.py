"""Script for a raw ``mitmdump -s addons/fc_cassette/mitmdump_script.py --set fc_mode=...``.

``fc-cassette <command>`` does the same in-process; see the README for the options.
"""

import os
import sys

try:
    from fc_cassette.mitm.addon import all_addons
except ImportError:  # not installed: import it from the checkout this file sits in
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from fc_cassette.mitm.addon import all_addons

addons = all_addons()
