"""fc-cassette's shared vocabulary: the names of its modes, in one place.

Everything that accepts, lists or documents a mode reads it from here (the CLI's
choices, the config schema, the mitmproxy options' checks, the pytest plugin's
``--fc-record-mode``): adding a record mode is one edit here plus its behaviour in
the record plan. Endpoint paths and id patterns live in :mod:`.endpoints` and
:mod:`.models.common`; secret kinds in :mod:`.secret_kinds`; Stripe error bodies in
:mod:`.stripe_errors`.
"""

from __future__ import annotations

from typing import Literal, get_args

# What `fc_mode` selects: which addon answers in-scope traffic.
FcMode = Literal["simulate", "record", "replay", "inspect"]
FC_MODES: tuple[str, ...] = get_args(FcMode)

# How `fc-cassette record` treats an existing cassette (vcrpy's names):
#   once          record into a new cassette; replay only if it exists
#   new_episodes  replay what matches, forward and append the rest
#   all           record everything again (the cassette is replaced)
#   none          replay only, never forward
RecordMode = Literal["once", "new_episodes", "all", "none"]
RECORD_MODES: tuple[str, ...] = get_args(RecordMode)

# The modes in which the proxy serves from a cassette (the passthrough tracker counts
# out-of-scope flows in these).
CASSETTE_MODES: tuple[str, ...] = ("record", "replay")
