"""The CLI without processes: mitmproxy arguments per mode, no stdlib shadowing."""

from __future__ import annotations

from builders import mitm_options as mitm


def test_mitm_arguments_modes_and_defaults():
    a = mitm("replay", "c.yaml")
    assert a["mode"] == ["reverse:https://api.stripe.com"]
    assert a["listen_host"] == ["127.0.0.1"]  # never every interface by default
    assert a["listen_port"] == ["8080"]
    assert a["connection_strategy"] == ["lazy"] and a["fc_cassette"] == ["c.yaml"]
    assert a["flow_detail"] == ["0"] and a["fc_mode"] == ["replay"]
    assert mitm("replay", "c.yaml", "--forward")["mode"] == ["regular"]
    rec = mitm(
        "record",
        "c.yaml",
        "--upstream",
        "http://127.0.0.1:9",
        "--record-mode",
        "all",
        "--port",
        "9999",
    )
    assert rec["mode"] == ["reverse:http://127.0.0.1:9"]
    assert rec["fc_record_mode"] == ["all"] and rec["listen_port"] == ["9999"]
    sim = mitm("simulate", "--seed", "5", "--listen-host", "0.0.0.0")
    assert sim["mode"] == ["regular"] and sim["fc_seed"] == ["5"]
    assert sim["listen_host"] == ["0.0.0.0"]
    # the user's --set replaces ours (mitmproxy refuses repeated scalar options)
    user = mitm(
        "replay",
        "c.yaml",
        "--set",
        "flow_detail=2",
        "--set",
        "mode=reverse:http://x",
        "--set",
        "mode=regular@9000",
        "--set",
        "confdir=/x",
    )
    assert user["flow_detail"] == ["2"] and user["confdir"] == ["/x"]
    assert user["mode"] == ["reverse:http://x", "regular@9000"]
    # --lean has no flow printer (mitmdump's Dumper): its flow_detail is not set
    assert "flow_detail" not in mitm("replay", "c.yaml", "--lean")


def test_no_module_shadows_the_standard_library():
    # mitmdump puts a script's folder first on sys.path while loading it
    import sys

    from support import ROOT

    names = {p.stem for p in (ROOT / "addons" / "fc_cassette").glob("*.py")} - {"__main__"}
    assert not names & set(sys.stdlib_module_names)
