"""The addon chain fc-cassette adds to mitmproxy: the shared core, then one addon per mode.

Every mode addon is always loaded (so every ``fc_*`` option exists) and acts only
when ``fc_mode`` names it.
"""

from __future__ import annotations


def all_addons() -> list:
    from .control import Control
    from .core import FcCore
    from .inspector import Inspect
    from .record import Record
    from .replay import Replay
    from .simulate import Simulate

    return [FcCore(), Control(), Simulate(), Record(), Replay(), Inspect()]
