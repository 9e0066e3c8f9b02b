"""The shared pieces of issue #15: options resolved once, the error envelope, the one
verdict, the process helper, and scripts/check_structure.py itself."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from fc_cassette.settings import modes as vocab
from fc_cassette.settings.config import Settings, with_options
from fc_cassette.stripe_api import errors as stripe_errors
from fc_cassette.stripe_api.validation import verdict

ROOT = Path(__file__).resolve().parents[3]


# ----------------------------------------------------------------- options resolved once
def test_unset_options_leave_the_settings_alone():
    s = Settings()
    assert with_options(s, {"fc_record_mode": "", "fc_allow_live": False, "fc_seed": -1}) is s
    assert with_options(s, {}) is s


def test_set_options_override_the_config():
    s = Settings()
    out = with_options(s, {"fc_record_mode": "new_episodes", "fc_allow_live": True, "fc_seed": 7})
    assert (out.record.mode, out.record.allow_live_keys, out.simulate.seed) == (
        "new_episodes",
        True,
        7,
    )
    assert (s.record.mode, s.record.allow_live_keys, s.simulate.seed) == ("once", False, 0)
    assert out.record.fsync == s.record.fsync  # the rest of the section is kept


# ----------------------------------------------------------------------- vocabulary
def test_record_modes_are_one_table_everywhere():
    from typing import get_args

    from fc_cassette.cli import args as cli_args
    from fc_cassette.harness import api, pytest_plugin
    from fc_cassette.mitm import core, record, replay

    assert vocab.RECORD_MODES == tuple(vocab.RECORD_MODE_TABLE) == get_args(vocab.RecordMode)
    assert set(pytest_plugin.RECORD_MODES) == set(api.RECORD_MODES) == set(vocab.RECORD_MODES)
    assert pytest_plugin.RECORD_MODES[0] == "none"  # the harness's default comes first
    assert record.Record.record_modes is vocab.RECORD_MODES
    assert replay.Replay.record_modes == ("none",) == vocab.OFFLINE_MODES
    assert core.MODES is vocab.FC_MODES
    parser = cli_args.build_parser()
    record_parser = parser._subparsers._group_actions[0].choices["record"]
    action = next(a for a in record_parser._actions if "--record-mode" in a.option_strings)
    assert tuple(action.choices) == vocab.RECORD_MODES
    for row in vocab.RECORD_MODE_TABLE.values():  # each row's help, in the CLI's help
        assert f"  {row.name} " in cli_args.RECORD_MODE_HELP
        assert row.help.split("\n")[0] in cli_args.RECORD_MODE_HELP
        assert row.name in vocab.option_help() and row.name in vocab.harness_help()


def test_the_cli_help_of_the_record_modes_is_unchanged():
    from fc_cassette.cli import args as cli_args

    assert (
        cli_args.RECORD_MODE_HELP
        == """\
record modes (--record-mode, or the config key record.mode):
  once          record when the cassette does not exist yet; if it does, only replay
                from it (a request it does not hold is a miss). The default.
  new_episodes  replay what the cassette holds; forward and append what it does not.
  all           forward and record everything: re-record the cassette from scratch
                (the old file is replaced once the first new interaction is written).
  none          never forward: replay only, like 'fc-cassette replay'.
  rewrite       pytest-recording's name: the cassette is replaced by what this run
                records (as all; a cassette it records nothing into is removed)."""
    )


def test_a_record_mode_is_parsed_once_with_one_message():
    import pytest

    from fc_cassette.mitm import control

    assert vocab.parse_record_mode("all") == "all"
    for bad in ("sometimes", "", None, ["once"], "ONCE"):
        with pytest.raises(
            ValueError, match="^must be one of once, new_episodes, all, none, rewrite, not "
        ):
            vocab.parse_record_mode(bad)
    # where the options are folded into the settings, naming the option
    with pytest.raises(ValueError, match="^fc_record_mode must be one of .*, not 'sometimes'$"):
        with_options(Settings(), {"fc_record_mode": "sometimes"})
    # the control endpoint: only the modes its target accepts
    with pytest.raises(control.Refused, match="must be one of none, not 'once'"):
        control.parse_use(b'{"cassette": "c.yaml", "record_mode": "once"}', ("none",))
    assert (
        control.parse_use(
            b'{"cassette": "c.yaml", "record_mode": "all"}', vocab.RECORD_MODES
        ).record_mode
        == "all"
    )


# ----------------------------------------------------------------- Stripe error envelope
def test_error_body_in_stripes_key_order():
    body = stripe_errors.body(
        "Missing required param: x.", code="parameter_missing", param="x", doc_url=True
    )
    assert list(body["error"]) == ["code", "doc_url", "message", "param", "type"]
    assert body["error"]["doc_url"].endswith("/parameter-missing")
    own = stripe_errors.own(stripe_errors.REPLAY_MISS, "m")
    assert own == {
        "error": {
            "code": "fc_cassette_replay_miss",
            "message": "m",
            "type": "invalid_request_error",
        }
    }
    assert json.loads(stripe_errors.encode(own)) == own


def test_playback_simulator_and_record_share_the_envelope():
    from fc_cassette.mitm.record import not_recorded_response
    from fc_cassette.simulator.errors import StripeError

    resp = not_recorded_response(200, "why")
    err = json.loads(resp.content)["error"]
    assert (err["type"], err["code"]) == (
        stripe_errors.NOT_RECORDED.type,
        stripe_errors.NOT_RECORDED.code,
    )
    assert resp.headers["Stripe-Should-Retry"] == "false"
    sim = StripeError(404, "No such thing", code="resource_missing", param="id").body()
    assert sim == stripe_errors.body(
        "No such thing", code="resource_missing", param="id", doc_url=True
    )


# ------------------------------------------------------------------------ one verdict
SESSION_PATH = "/v1/financial_connections/sessions"


def test_verdict_no_model_for_other_paths():
    v = verdict({"method": "GET", "path": "/v1/charges", "query": {}}, None)
    assert v.no_model and v.request_valid is None and v.summary() == "no model"
    assert v.fields()["model"] == "none"


def test_verdict_reads_both_sides():
    request = {"method": "POST", "path": SESSION_PATH, "body": {"form": {}}}
    response = {"status": 200, "body": {"json": {"object": "nope"}}}
    v = verdict(request, response)
    assert v.request_valid is False and v.response_valid is False
    assert v.errors("request") and all(e["in"] in ("request", "response") for e in v.errors())
    assert v.summary().startswith("request INVALID response INVALID")
    assert "model" not in v.fields()


# --------------------------------------------------------------------- process helper
# ---------------------------------------------------------------- check_structure.py
def _checker():
    spec = importlib.util.spec_from_file_location(
        "check_structure", ROOT / "scripts" / "check_structure.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _checker_of(tmp_path, monkeypatch, modules: dict[str, str]):
    """The checker, run over a package ``fc_cassette`` of ``modules`` (name: text)."""
    mod = _checker()
    pkg = tmp_path / "addons" / "fc_cassette"
    pkg.mkdir(parents=True)
    for name, text in {"__init__": "", **modules}.items():
        (pkg / f"{name}.py").parent.mkdir(parents=True, exist_ok=True)
        (pkg / f"{name}.py").write_text(text)
    monkeypatch.setattr(mod, "ROOT", tmp_path)
    monkeypatch.setattr(mod, "ADDONS", tmp_path / "addons")
    return mod


def test_check_structure_finds_cycles_long_functions_and_modules(tmp_path, monkeypatch):
    mod = _checker_of(
        tmp_path,
        monkeypatch,
        {
            "a": "from . import b\n",
            "b": "def f():\n    from .a import x\n" + "    y = 1\n" * 60,
            "c": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import d\n"
            + "\n" * 460,
            "d": "from . import c\n",
        },
    )
    found = mod.check()
    assert "import cycle: fc_cassette.a -> fc_cassette.b" in found
    assert any("function f is 62 lines" in f for f in found)
    assert any(f.startswith("addons/fc_cassette/c.py: 46") for f in found)
    assert not any("fc_cassette.c" in f and "cycle" in f for f in found)  # TYPE_CHECKING


def test_check_structure_holds_the_import_depth(tmp_path, monkeypatch):
    mod = _checker_of(
        tmp_path,
        monkeypatch,
        # b's import inside a function counts: it runs
        {"a": "from . import b\n", "b": "def f():\n    from . import c\n", "c": ""},
    )
    monkeypatch.setattr(mod, "MAX_DEPTH", 3)
    assert mod.check() == []
    monkeypatch.setattr(mod, "MAX_DEPTH", 2)
    assert mod.check() == [
        "import depth: 3 modules (limit 2): fc_cassette.a -> fc_cassette.b -> fc_cassette.c"
    ]


def test_check_structure_sees_the_package_inits_an_import_runs(tmp_path, monkeypatch):
    """Importing stripe_api.models.session from stripe_api.validation runs
    stripe_api/models/__init__.py first: an __init__ that imports validation back closes
    a cycle that Python hits (a partly initialised module), though no module imports
    another in a circle; the module's own packages are initialised already."""
    modules = {
        "stripe_api/__init__": "",
        "stripe_api/validation": "from fc_cassette.stripe_api.models.session import S\n",
        "stripe_api/models/__init__": "from fc_cassette.stripe_api import validation\n",
        "stripe_api/models/session": "from fc_cassette.stripe_api.models import common\n",
        "stripe_api/models/common": "",
    }
    mod = _checker_of(tmp_path, monkeypatch, modules)
    assert mod.check() == [
        "import cycle: fc_cassette.stripe_api.models -> fc_cassette.stripe_api.validation"
    ]
    modules["stripe_api/models/__init__"] = ""  # session's import of its sibling: no cycle
    mod = _checker_of(tmp_path / "again", monkeypatch, modules)
    assert mod.check() == []


def test_the_package_passes_check_structure():
    assert _checker().check() == []


def test_one_default_upstream():
    from fc_cassette.cli import args as cli_args
    from fc_cassette.harness import api, options
    from fc_cassette.settings import upstream

    assert upstream.DEFAULT_UPSTREAM == "https://api.stripe.com"
    assert (
        cli_args.DEFAULT_UPSTREAM
        is api.DEFAULT_UPSTREAM
        is options.DEFAULT_UPSTREAM
        is upstream.DEFAULT_UPSTREAM
    )
