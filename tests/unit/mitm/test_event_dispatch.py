"""mitm_compat.skip_idle_addons: our master's event dispatch skips addons that have no
handler for an event, and otherwise is mitmproxy's own: the same handlers in the same
order, errors logged and the next addon still called, AddonHalt stopping the event,
async handlers awaited, nested addons (a script loader's) reached."""

from __future__ import annotations

import asyncio
import logging
import types

import pytest
from mitmproxy import exceptions, options
from mitmproxy.addonmanager import AddonManager
from mitmproxy.proxy.layers.http import HttpRequestHook, HttpResponseHook
from mitmproxy.test import taddons, tflow

from fc_cassette.mitm import mitm_compat


def _chain(calls: list[str]) -> list[object]:
    class Idle:
        pass

    class Sync:
        def __init__(self, name: str) -> None:
            self.name = name

        def request(self, flow) -> None:
            calls.append(self.name)

    class Async:
        async def request(self, flow) -> None:
            await asyncio.sleep(0)
            calls.append("async")

    class Raises:
        def request(self, flow) -> None:
            calls.append("raises")
            raise RuntimeError("boom")

    class Nesting:
        def __init__(self) -> None:
            self.addons = [Sync("nested-1"), Raises(), Sync("nested-after-error")]

    class Halts:
        def response(self, flow) -> None:
            calls.append("halt")
            raise exceptions.AddonHalt()

    class BadProperty:
        @property
        def request(self):
            raise RuntimeError("a property that raises")

    class ModuleNamed:
        request = types  # "from x import request": a module, not a handler

    return [
        Idle(),
        Sync("first"),
        Nesting(),
        Async(),
        BadProperty(),
        ModuleNamed(),
        Idle(),
        Halts(),
        Sync("last"),
    ]


def _run(fast: bool, caplog) -> tuple[list[str], list[str]]:
    calls: list[str] = []
    root = logging.getLogger()
    handlers = list(root.handlers)
    try:
        return _run_in(fast, caplog, calls)
    finally:  # the master's log handlers (bound to its loop, closed with it; mitmproxy
        root.handlers[:] = handlers  # 12 leaves them installed) leave with it


def _run_in(fast: bool, caplog, calls: list[str]) -> tuple[list[str], list[str]]:
    with taddons.context() as tctx:
        manager = AddonManager(tctx.master)
        manager.chain = _chain(calls)
        if fast:
            mitm_compat.skip_idle_addons(manager)
        flow = tflow.tflow(resp=True)
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            for event in (HttpRequestHook(flow), HttpResponseHook(flow)):
                asyncio.run(manager.trigger_event(event))
        calls.append("|")
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    return calls, errors


def test_the_same_handlers_in_the_same_order_with_the_same_errors(caplog):
    slow = _run(False, caplog)
    fast = _run(True, caplog)
    assert fast == slow
    calls, errors = fast
    # what mitmproxy does: a failing nested handler ends its top-level addon's turn
    assert calls == ["first", "nested-1", "raises", "async", "last", "halt", "|"]
    assert errors == ["Addon error: boom", "Addon error: a property that raises"]


def test_idle_addons_are_not_entered(monkeypatch):
    """The point of it: an addon with no handler never reaches invoke_addon."""
    entered: list[object] = []
    with taddons.context() as tctx:
        manager = AddonManager(tctx.master)
        calls: list[str] = []
        manager.chain = _chain(calls)
        original = manager.invoke_addon

        async def spy(addon, event):
            entered.append(type(addon).__name__)
            await original(addon, event)

        monkeypatch.setattr(manager, "invoke_addon", spy)
        mitm_compat.skip_idle_addons(manager)
        asyncio.run(manager.trigger_event(HttpRequestHook(tflow.tflow())))
    assert "Idle" not in entered and "Halts" not in entered  # (no request handler)
    assert entered == ["Sync", "Nesting", "Async", "BadProperty", "ModuleNamed", "Sync"]


@pytest.mark.parametrize("web", [False, True])
def test_our_masters_dispatch_that_way(web):
    set_up: list[object] = []
    master_cls = mitm_compat.master_class(web, lambda master, opts: set_up.append(master))

    async def make():
        master = master_cls(options.Options())
        return master, master.addons.trigger_event

    master, trigger = asyncio.run(make())
    assert set_up == [master]
    assert trigger.__qualname__.startswith("skip_idle_addons")
    assert len(master.addons.chain) > 20  # mitmproxy's default addons are all still there
