"""fc-cassette's modes, in one place: the fc modes' names and the one record mode table.

Everything that accepts, lists or documents a record mode reads it from here: the CLI's
``--record-mode`` choices and help, the config schema, the ``fc_record_mode`` option's
help and check (applied once, where the options are folded into the settings:
:func:`fc_cassette.settings.config.with_options`), the control endpoint's ``use``, the
pytest plugin's ``--fc-record-mode`` and marker, ``fc_cassette.proxy(record_mode=...)``.

**Adding a record mode** (e.g. ``rewrite``) is one edit of this module: its name in
:data:`RecordMode`, and one :class:`RecordModeRow` in :data:`RECORD_MODE_TABLE` with its
help text, whether it is ``offline`` and its plan function (what it does with a
cassette that exists or not, and that this run wrote or not; see :class:`Plan`).
The recorder's switch (``mitm/record_switch.py``) only carries out a :class:`Plan`.
Endpoint paths live in :mod:`fc_cassette.stripe_api.endpoints`, secret kinds in
:mod:`fc_cassette.redact.kinds`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast, get_args

# What `fc_mode` selects: which addon answers in-scope traffic.
FcMode = Literal["simulate", "record", "replay", "inspect"]
FC_MODES: tuple[str, ...] = get_args(FcMode)

# The modes in which the proxy serves from a cassette (the passthrough tracker counts
# out-of-scope flows in these).
CASSETTE_MODES: tuple[str, ...] = ("record", "replay")

# How `fc-cassette record` treats a cassette (vcrpy's names); the rows below say what
# each does. The config schema reads this Literal (kept equal to the table's names).
RecordMode = Literal["once", "new_episodes", "all", "none", "rewrite"]


class MissingCassette(ValueError):
    """A mode that only replays, on a cassette that does not exist: nothing to replay."""


@dataclass(frozen=True)
class Plan:
    """What the recorder does with one cassette."""

    replay: bool  # answer from the existing cassette (misses refused unless recording)
    record: bool  # a writer: what the cassette does not answer is forwarded and recorded;
    #               placeholders then continue the existing cassette's numbers if it is read
    append: bool  # the writer continues the existing cassette (else a new file replaces it)
    continues: bool  # this run's own cassette, come back to: keep writing it, replay nothing
    # rewrite: an existing cassette this activation records nothing into is removed
    remove_unrecorded: bool = False

    @property
    def load(self) -> bool:
        """The existing cassette is read (to replay it or to append to it)."""
        return self.replay or self.append


PlanFor = Callable[[bool, bool], Plan]
"""(the cassette exists, this run wrote it before) -> the plan. "Wrote it before": a
test came back to it, or mitmproxy rolled back a refused switch."""


@dataclass(frozen=True)
class RecordModeRow:
    name: str
    help: str  # the CLI's ``--help`` text (continuation lines indented by the CLI)
    offline: bool  # forwards nothing: never locks the cassette, and the pytest plugin and
    #                the Python API serve it from a replay process (the cassette must exist)
    plan: PlanFor


def _once(exists: bool, written: bool) -> Plan:
    if exists and not written:
        return Plan(replay=True, record=False, append=False, continues=False)
    return Plan(replay=False, record=True, append=exists, continues=exists)


def _new_episodes(exists: bool, written: bool) -> Plan:
    return Plan(replay=exists, record=True, append=exists, continues=False)


def _all(exists: bool, written: bool) -> Plan:
    again = exists and written  # started over once already this run: keep writing it
    return Plan(replay=False, record=True, append=again, continues=again)


def _rewrite(exists: bool, written: bool) -> Plan:
    again = exists and written
    return Plan(
        replay=False,
        record=True,
        append=again,
        continues=again,
        remove_unrecorded=exists and not again,
    )


def _none(exists: bool, written: bool) -> Plan:
    if not exists:
        raise MissingCassette("no such cassette (record mode 'none' only replays)")
    return Plan(replay=True, record=False, append=False, continues=False)


RECORD_MODE_TABLE: dict[str, RecordModeRow] = {
    row.name: row
    for row in (
        RecordModeRow(
            "once",
            "record when the cassette does not exist yet; if it does, only "
            "replay\nfrom it (a request it does not hold is a miss). The default.",
            offline=False,
            plan=_once,
        ),
        RecordModeRow(
            "new_episodes",
            "replay what the cassette holds; forward and append what it does not.",
            offline=False,
            plan=_new_episodes,
        ),
        RecordModeRow(
            "all",
            "forward and record everything: re-record the cassette from "
            "scratch\n(the old file is replaced once the first new interaction is "
            "written).",
            offline=False,
            plan=_all,
        ),
        RecordModeRow(
            "none",
            "never forward: replay only, like 'fc-cassette replay'.",
            offline=True,
            plan=_none,
        ),
        RecordModeRow(
            "rewrite",
            "pytest-recording's name: the cassette is replaced by what "
            "this run\nrecords (as all; a cassette it records nothing into is "
            "removed).",
            offline=False,
            plan=_rewrite,
        ),
    )
}
RECORD_MODES: tuple[str, ...] = tuple(RECORD_MODE_TABLE)
REPLAY_FIRST: tuple[str, ...] = (
    *(m for m in RECORD_MODES if RECORD_MODE_TABLE[m].offline),
    *(m for m in RECORD_MODES if not RECORD_MODE_TABLE[m].offline),
)
"""The order of the harness (pytest plugin, Python API), whose default is ``none``."""
OFFLINE_MODES: tuple[str, ...] = tuple(m for m in RECORD_MODES if RECORD_MODE_TABLE[m].offline)
"""What ``fc-cassette replay``'s control endpoint accepts as a record mode."""
if RECORD_MODES != get_args(RecordMode):  # pragma: no cover - an incomplete edit
    raise RuntimeError("RecordMode and RECORD_MODE_TABLE name different record modes")


def parse_record_mode(value: object, accepted: tuple[str, ...] = RECORD_MODES) -> RecordMode:
    """``value`` as a record mode, or ``ValueError``: "must be one of once, new_episodes,
    all, none, not 'x'" (``accepted``: the caller's modes, in the order it lists them)."""
    if isinstance(value, str) and value in accepted and value in RECORD_MODE_TABLE:
        return cast(RecordMode, value)
    raise ValueError(f"must be one of {', '.join(accepted)}, not {value!r}")


def row(mode: str) -> RecordModeRow:
    """The table's row of ``mode`` (``ValueError`` if it is not a record mode)."""
    try:
        return RECORD_MODE_TABLE[parse_record_mode(mode)]
    except ValueError as e:
        raise ValueError(f"record mode {e}") from None


def plan(mode: str, exists: bool, written: bool) -> Plan:
    """What record mode ``mode`` does with a cassette that ``exists`` (or not) and that
    this run ``written`` to before; :class:`MissingCassette` if there is nothing to do."""
    return row(mode).plan(exists, written)


def cli_help() -> str:
    """The record modes' section of ``fc-cassette record --help``."""
    width = max(map(len, RECORD_MODES)) + 2
    lines = ["record modes (--record-mode, or the config key record.mode):"]
    for r in RECORD_MODE_TABLE.values():
        first, *rest = r.help.split("\n")
        lines.append(f"  {r.name.ljust(width)}{first}")
        lines.extend(" " * (width + 2) + line for line in rest)
    return "\n".join(lines)


def option_help() -> str:
    """The ``fc_record_mode`` option's help (mitmproxy's ``--options``)."""
    return (
        f"Record mode: {', '.join(RECORD_MODES[:-1])} or {RECORD_MODES[-1]} (empty: the "
        "config's record.mode)."
    )


def harness_help() -> str:
    """``--fc-record-mode``'s help (the pytest plugin)."""
    default, *others = REPLAY_FIRST  # the offline one: it serves from a replay process
    return f"{default} (default: replay only, offline), {', '.join(others)}"
