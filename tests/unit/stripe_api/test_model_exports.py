"""The export block of fc_cassette/models/__init__.py is generated (issue #21): it is
what the generator writes today, and two modules never define one name."""

from __future__ import annotations

import types

import pytest

import fc_cassette.stripe_api.models as models
from fc_cassette.stripe_api.models import exports


def test_the_export_block_is_up_to_date():
    text = exports.INIT.read_text(encoding="utf-8")
    assert exports.rewritten(text) == text, "run: python -m fc_cassette.stripe_api.models.exports"


def test_every_public_name_of_every_module_is_exported():
    for short in exports.MODULES:
        module = __import__(f"fc_cassette.stripe_api.models.{short}", fromlist=["_"])
        for name in exports.public(module):
            assert getattr(models, name) is getattr(module, name), (short, name)
    assert sorted(models.__all__) == models.__all__
    assert set(models.__all__) == {n for names in exports.exports().values() for n in names}


def test_a_name_defined_twice_is_refused(monkeypatch):
    twin = types.ModuleType("fc_cassette.stripe_api.models.twin")
    twin.Customer = type("Customer", (), {"__module__": "fc_cassette.stripe_api.models.twin"})
    monkeypatch.setitem(__import__("sys").modules, "fc_cassette.stripe_api.models.twin", twin)
    monkeypatch.setattr(exports, "MODULES", (*exports.MODULES, "twin"))
    with pytest.raises(ValueError, match="Customer is defined by both customer and twin"):
        exports.exports()


def test_check_mode_reports_a_stale_block(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "__init__.py"
    stale.write_text(exports.BEGIN + "from .common import ROOT\n" + exports.END)
    monkeypatch.setattr(exports, "INIT", stale)
    assert exports.main(["--check"]) == 1
    assert capsys.readouterr().err.startswith("fc-cassette: ")
    assert exports.main([]) == 0 and exports.main(["--check"]) == 0
