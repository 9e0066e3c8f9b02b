"""The addon chain fc-cassette adds to mitmproxy: the shared core (with the h2c guard as
its sub-addon: it replaces mitmproxy's DisableH2C, see :mod:`.h2c`), then the mode addons.

``fc-cassette <command>`` knows its mode and loads only that mode's addon (every
mitmproxy event goes through every loaded addon, so idle ones cost time on each
request). A raw ``mitmdump -s`` cannot know the mode before options are read, so it
loads every mode addon; each acts only when ``fc_mode`` names it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _simulate() -> Any:
    from fc_cassette.mitm.simulate import Simulate

    return Simulate()


def _record() -> Any:
    """The recorder is handed its switch (the active cassette and moving it), and the
    switch how players are loaded and made, here, by their owner, rather than importing
    the player's chain."""
    from fc_cassette.mitm.player import Player, load_player
    from fc_cassette.mitm.record import Record
    from fc_cassette.mitm.record_switch import Switch

    return Record(Switch(load_player, Player))


def _replay() -> Any:
    from fc_cassette.mitm.player import load_player
    from fc_cassette.mitm.replay import Replay

    return Replay(load_player)


def _inspect() -> Any:
    from fc_cassette.mitm.inspector import Inspect

    return Inspect()


def mode_addons() -> dict[str, Callable[[], Any]]:
    """Each mode's addon factory; a factory imports only its own mode's modules, so a
    replay proxy does not import the simulator nor the models the inspector and the
    recorder check traffic with (a start-up cost: issue #25)."""
    return {"simulate": _simulate, "record": _record, "replay": _replay, "inspect": _inspect}


def all_addons(mode: str | None = None) -> list:
    """The core addon (the h2c guard its sub-addon), then ``mode``'s addon and the
    out-of-scope tracker (every mode's, and the check of the script's ``--set`` values,
    when None: a raw ``mitmdump -s``)."""
    from fc_cassette.mitm.core import DeferredOptionsCheck, FcCore
    from fc_cassette.mitm.h2c import H2cGuard
    from fc_cassette.mitm.passthrough import MODES as TRACKED, Passthrough

    core = FcCore()
    core.addons = [H2cGuard()]  # a sub-addon: its hooks run right after the core's
    modes = mode_addons()
    if mode in modes:  # the tracker after the mode addon: it sees what that one refused
        return [core, modes[mode](), *([Passthrough()] if mode in TRACKED else [])]
    return [core, *(make() for make in modes.values()), Passthrough(), DeferredOptionsCheck()]
