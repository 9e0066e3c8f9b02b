"""Every use of mitmproxy's private or undocumented API, in one place (mitmproxy 11 and 12).

mitmproxy's public addon API does not cover what fc-cassette needs at start-up; each
workaround below is a small function, so a mitmproxy upgrade is checked here (and by
``scripts/test-mitmproxy12.sh``), not across the package.

- :func:`option` — ``OptManager._options``: the declared option (its ``choices``, its
  ``typespec``, its ``help``). mitmproxy declares ``choices`` but does not enforce them
  on string options; the core and the CLI check them, and name the option in errors.
- :func:`parse_value` — ``OptManager._parse_setval``: parse ``--set NAME=VALUE`` text as
  mitmproxy would, to report a bad value naming the option (mitmproxy says only "Not
  an integer: abc") or to drop it before it fails a whole deferred update.
- :func:`deferred` — ``OptManager.deferred``: ``--set`` values for options nobody has
  declared yet. Unknown ``fc_*`` names are refused from it (mitmproxy ignores them),
  and a raw ``mitmdump -s`` script's values are checked there before they apply
  (:func:`deferred_raw`, :func:`drop_deferred`: a bad one is dropped, not applied).
- :func:`replace_set` — an instance ``set`` on the OptManager (it refuses setattr): the
  CLI's checked ``set``.
- :func:`put_first` — ``AddonManager.chain``: the core's ``configure`` must run before
  mitmproxy's own addons see a bad value (termlog raises a bare ValueError).
- :func:`remove_builtin` — removing a default addon by name (``disableh2c``): the h2c
  guard takes its place (see :mod:`.h2c`).
- :func:`create_ca` — ``CertStore.create_store``: create the CA before mitmproxy starts,
  under a lock (see :mod:`.ca`).
- :func:`trust_created_ca` — ``certs.load_pem_private_key`` (the module global
  ``CertStore.from_files`` calls): the CA just created is loaded without
  cryptography's RSA key check (~0.1 s of each fresh proxy's start); other keys are
  checked as before.
- :func:`run` — ``mitmproxy.tools.main.run`` with our master class and an extra hook:
  mitmproxy's own start-up (its argument parsing, option errors) with our addons in.
- :func:`master_class` — a subclass of mitmdump's (or mitmweb's) master: ``run``
  constructs the master itself, so its constructor is the only place to add our addons
  before mitmproxy's start-up reads the options (the masters are not a public base).
- :func:`skip_idle_addons` — ``AddonManager.trigger_event`` replaced on our master's
  addon manager by one that passes over a (non-nesting) addon without a handler for the
  event: mitmproxy enters a coroutine, a generator and a ``safecall`` context for each of
  its ~40 default addons on each of a flow's ~8 events, about half of a replay hit's
  time in the proxy (issue #25). The same handlers run in the same order, with the same
  error handling; an addon with nested ``addons`` (a script loader) takes mitmproxy's
  own path.
- :func:`lean_imports`, :func:`lean_option_names`, :func:`lean_master_class`,
  :func:`lean_parser` — a proxy with only the mitmproxy addons a proxy command needs
  (the default, see ``cli.app.choose_lean``; always with ``--lean``, as the pytest
  plugin's proxies run): ``mitmproxy.addons`` is put in ``sys.modules`` without running its
  ``__init__`` (which imports all ~35 default addons and flask, passlib, ldap3 with
  them: about half a second of each start), a master built on ``mitmproxy.master.Master``
  with :data:`LEAN_ADDONS`, and a parser of ``--set`` alone (``mitm_arguments`` passes
  nothing else).
- :func:`web_parser` — mitmweb's parser plus ``filter_args`` (``run`` reads it; only
  mitmdump's parser defines it).
- :func:`response` — ``http.Response`` built through ``__new__`` and ``__dict__``: the
  public constructor type-checks every header field and value, a third of a replay
  hit's own time, for values :func:`fc_cassette.playback.state.wire` checked when the
  cassette was loaded (the Player serves every hit through it).
- :func:`error_pages` — ``proxy.layers.http._http1.make_error_response``: the HTML page
  mitmproxy answers an HTTP/1 client with when the upstream fails (502) is replaced by
  a Stripe-shaped JSON error (see :mod:`.upstream_errors`); no public hook can answer
  such a flow.
- :func:`prefer_h2` — ``addons.tlsconfig.alpn_select_callback`` (a module global that
  ``TlsConfig.tls_start_client`` passes to each new client TLS context): mitmproxy picks
  the client's first ALPN, and httpx/httpcore offers ``http/1.1`` before ``h2`` through
  a proxy, so it never got HTTP/2 where curl (``h2`` first) did. Real Stripe chooses
  ``h2``; so does fc-cassette now, when no server connection decided otherwise.
- :func:`is_legacy_log_handler` — ``mitmproxy.log.LegacyLogEvents``: the handler that
  turns every log record into the deprecated ``add_log`` event, sent through the whole
  addon chain (~65 us a line); fc-cassette's own records are kept out of it (see
  :func:`fc_cassette.core.install_log_redaction`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mitmproxy import http

if TYPE_CHECKING:
    from mitmproxy.master import Master


def option(opts: Any, name: str) -> Any:
    """The declared option ``name`` (with ``choices``, ``typespec``, ``help``), or None."""
    return opts._options.get(name)


def parse_value(opts: Any, opt: Any, raw: list[str]) -> Any:
    """``raw`` (the strings of ``--set NAME=VALUE``) parsed as ``opt``'s type;
    ``exceptions.OptionsError`` if it does not parse."""
    return opts._parse_setval(opt, raw)


def deferred(opts: Any) -> dict[str, Any]:
    """``--set`` values waiting for an option of that name to be declared."""
    return getattr(opts, "deferred", {})


def deferred_raw(opts: Any, name: str) -> list[str] | None:
    """The strings of a deferred ``--set`` (None if it is already a value)."""
    return getattr(opts.deferred[name], "val", None)


def drop_deferred(opts: Any, name: str) -> None:
    """Forget a deferred ``--set`` (a bad value, logged instead of failing the update)."""
    del opts.deferred[name]


def replace_set(opts: Any, set_: Callable[..., None]) -> None:
    """Use ``set_`` as ``opts.set`` (an instance attribute: OptManager refuses setattr)."""
    opts.__dict__["set"] = set_


def put_first(addons: Any, addon: Any) -> None:
    """Move ``addon`` to the front of the addon chain (its hooks run first)."""
    addons.chain.remove(addon)
    addons.chain.insert(0, addon)


def remove_builtin(addons: Any, name: str) -> bool:
    """Remove mitmproxy's default addon ``name`` if present. Call it in ``running``,
    not in ``load``: AddonManager.add appends to the chain it read before ``load`` ran,
    and ``remove`` replaces the chain list (an addon added meanwhile would be lost)."""
    builtin = addons.get(name)
    if builtin is None:
        return False
    addons.remove(builtin)
    return True


def create_ca(directory: Path, basename: str, key_size: int) -> None:
    """mitmproxy's CA files (``BASENAME-ca.pem`` ...) in ``directory``."""
    from mitmproxy.certs import CertStore

    CertStore.create_store(directory, basename, key_size)


def trust_created_ca(made: bytes) -> None:
    """Load the CA file whose bytes are ``made`` without cryptography's RSA key check.

    mitmproxy checks its CA's private key each time it loads it (about 0.1 s of a
    proxy's start: cryptography's check of the RSA parameters, meant for keys from
    elsewhere). The CA :func:`fc_cassette.mitm.ca.ensure_ca` has just generated in this
    process is valid by construction: a file holding exactly those bytes is loaded
    without the check; any other key (an existing confdir's, a user's CA, a file changed
    since) is loaded by mitmproxy's own function, checked."""
    from cryptography.hazmat.primitives import serialization
    from mitmproxy import certs

    checked = getattr(certs, "_fc_checked_key_load", certs.load_pem_private_key)

    def load_pem_private_key(data: bytes, password: bytes | None) -> Any:
        if data == made and password is None:
            try:
                return serialization.load_pem_private_key(
                    data, None, unsafe_skip_rsa_key_validation=True
                )
            except TypeError:  # a cryptography before 39: it always checks
                pass
        return checked(data, password)

    certs._fc_checked_key_load = checked  # type: ignore[attr-defined]
    certs.load_pem_private_key = load_pem_private_key


def master_class(web: bool, set_up: Callable[[Any, Any], None]) -> type[Master]:
    """mitmweb's (``web``) or mitmdump's master class, whose constructor then calls
    ``set_up(master, opts)``."""
    base: type[Master]
    if web:
        from mitmproxy.tools.web.master import WebMaster

        base = WebMaster
    else:
        from mitmproxy.tools.dump import DumpMaster

        base = DumpMaster

    def __init__(self: Any, opts: Any, *a: Any, **kw: Any) -> None:
        base.__init__(self, opts, *a, **kw)
        skip_idle_addons(self.addons)
        set_up(self, opts)

    return type("Master", (base,), {"__init__": __init__})


# mitmdump's addons that a proxy command uses, in mitmdump's order: the options and
# commands (core), refusing clients from public addresses (block), listening
# (proxyserver), choosing each connection's layers (next_layer), TLS (tlsconfig), and
# exiting on a start-up error, e.g. a port taken (errorcheck). mitmproxy's h2c guard
# (disable_h2c) is left out: fc-cassette's own takes its place (see .h2c).
LEAN_ADDONS = (
    ("core", "Core"),
    ("block", "Block"),
    ("proxyserver", "Proxyserver"),
    ("next_layer", "NextLayer"),
    ("tlsconfig", "TlsConfig"),
    ("errorcheck", "ErrorCheck"),
)


def lean_imports() -> bool:
    """Make ``mitmproxy.addons`` a package whose ``__init__`` has not run, so that
    importing one of its addons imports that one only; its ``default_addons`` (the one
    name ``__init__`` defines) still works, running ``__init__`` on first use. False
    (nothing done) when the package is imported already."""
    import importlib.util
    import sys

    if "mitmproxy.addons" in sys.modules:
        return False
    spec = importlib.util.find_spec("mitmproxy.addons")
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return False
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def __getattr__(name: str) -> Any:
        # only for default_addons: importlib's ``from mitmproxy.addons import X`` asks
        # hasattr(package, X) first, and must then import the submodule X alone
        if name == "default_addons":
            loader.exec_module(package)  # every default addon, as an import would
            return package.__dict__[name]
        raise AttributeError(f"module 'mitmproxy.addons' has no attribute {name!r}")

    package.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules["mitmproxy.addons"] = package
    import mitmproxy

    mitmproxy.addons = package
    return True


def lean_option_names() -> frozenset[str]:
    """The mitmproxy options a lean master declares: mitmproxy's own (``Options``), its
    log's and :data:`LEAN_ADDONS`' (each addon's ``load`` run on a bare instance: some
    constructors install log handlers). A test checks them against a real lean master."""
    import importlib

    from mitmproxy.options import Options

    names = set(Options().keys()) | {"termlog_verbosity"}

    class Loader:
        def add_option(self, name: str, *args: Any, **kwargs: Any) -> None:
            names.add(name)

        def add_command(self, *args: Any, **kwargs: Any) -> None:
            pass

    for module, name in LEAN_ADDONS:
        cls = getattr(importlib.import_module(f"mitmproxy.addons.{module}"), name)
        if hasattr(cls, "load"):
            cls.load(cls.__new__(cls), Loader())
    return frozenset(names)


def lean_master_class(set_up: Callable[[Any, Any], None]) -> type[Master]:
    """A master with mitmproxy's :data:`LEAN_ADDONS` and its log (what mitmdump's
    master has, minus the addons no proxy command uses and its flow printer), whose
    constructor then calls ``set_up(master, opts)``."""
    import importlib

    from mitmproxy.master import Master

    def __init__(self: Any, opts: Any, *a: Any, **kw: Any) -> None:
        Master.__init__(self, opts, with_termlog=True)
        self.addons.add(
            *(
                getattr(importlib.import_module(f"mitmproxy.addons.{module}"), name)()
                for module, name in LEAN_ADDONS
            )
        )
        skip_idle_addons(self.addons)
        set_up(self, opts)

    return type("Master", (Master,), {"__init__": __init__})


def lean_parser(opts: Any) -> Any:
    """A parser of ``--set NAME=VALUE`` alone, with the other attributes :func:`run`
    reads at mitmdump's defaults (mitmdump's parser declares a flag for each of the
    default addons' options, which a lean master does not have)."""
    import argparse

    parser = argparse.ArgumentParser(usage="%(prog)s [--set option[=value]] ...")
    parser.add_argument(
        "--set", type=str, dest="setoptions", default=[], action="append", metavar="option[=value]"
    )
    parser.set_defaults(
        version=False, quiet=False, options=False, commands=False, verbose=False, filter_args=None
    )
    return parser


def skip_idle_addons(addons: Any) -> None:
    """Make ``addons.trigger_event`` skip, without entering it, each top-level addon
    that has no nested addons and no handler for the event (mitmproxy's own
    ``trigger_event``, minus the per-addon coroutine, generator and context it costs
    even for an addon that has nothing to run). Everything else is mitmproxy's code."""
    from mitmproxy import exceptions
    from mitmproxy.addonmanager import safecall

    async def trigger_event(event: Any) -> None:
        name = event.name
        for addon in addons.chain:
            try:
                if not hasattr(addon, "addons") and not getattr(addon, name, None):
                    continue  # what mitmproxy's _iter_hooks would yield nothing for
            except Exception:  # a property that raises: mitmproxy's path logs it
                pass
            try:
                with safecall():
                    await addons.invoke_addon(addon, event)
            except exceptions.AddonHalt:
                return

    addons.trigger_event = trigger_event


def run(
    master_cls: type[Master],
    make_parser: Callable[..., Any],
    arguments: list[str],
    extra: Callable[[Any], dict[str, Any]],
) -> Master:
    """mitmproxy's own start-up and event loop with ``master_cls``; the master."""
    from mitmproxy.tools import main as mitm_main

    return mitm_main.run(master_cls, make_parser, arguments, extra)


def web_parser(opts: Any) -> Any:
    """mitmweb's argument parser, usable by :func:`run` (which reads
    ``args.filter_args``, an argument only mitmdump defines)."""
    from mitmproxy.tools import cmdline

    parser = cmdline.mitmweb(opts)
    parser.set_defaults(filter_args=None)
    return parser


def response(
    status: int, reason: bytes, fields: tuple[tuple[bytes, bytes], ...], body: bytes, now: float
) -> http.Response:
    """``http.Response(b"HTTP/1.1", status, reason, http.Headers(fields), body, None,
    now, now)`` without the check of every field (see above). The Headers around
    ``fields`` is a copy: a tuple of tuples is never changed in place (Headers assigns
    a new one on every change)."""
    headers = _HEADERS.__new__(_HEADERS)
    headers.fields = fields
    data = _RESPONSE_DATA.__new__(_RESPONSE_DATA)
    data.__dict__.update(
        http_version=b"HTTP/1.1",
        status_code=status,
        reason=reason,
        headers=headers,
        content=body,
        trailers=None,
        timestamp_start=now,
        timestamp_end=now,
    )
    resp = http.Response.__new__(http.Response)
    resp.data = data
    return resp


_RESPONSE_DATA, _HEADERS = http.ResponseData, http.Headers


def is_legacy_log_handler(handler: Any) -> bool:
    """Whether ``handler`` is mitmproxy's ``add_log`` event emitter (deprecated since
    mitmproxy 9: addons read Python's logging instead)."""
    from mitmproxy import log

    legacy = getattr(log, "LegacyLogEvents", None)
    return legacy is not None and isinstance(handler, legacy)


def error_pages(render: Callable[[int, str], bytes | None]) -> None:
    """Answer mitmproxy's own HTTP/1 error responses with ``render(status, message)``
    (the whole response, assembled) where it returns bytes; mitmproxy's page otherwise.
    Idempotent: the original function is kept once."""
    from mitmproxy.proxy.layers.http import _http1

    original = getattr(_http1, "_fc_original_error_response", _http1.make_error_response)

    def make_error_response(status_code: int, message: str = "") -> bytes:
        out = render(status_code, message)
        return original(status_code, message) if out is None else out

    _http1._fc_original_error_response = original  # type: ignore[attr-defined]
    _http1.make_error_response = make_error_response


def prefer_h2() -> None:
    """Negotiate ``h2`` with a TLS client that offers it (in any position) while no
    server connection has fixed the protocol; mitmproxy's own choice otherwise.
    Idempotent."""
    from mitmproxy.addons import tlsconfig

    original = getattr(tlsconfig, "_fc_original_alpn_select", tlsconfig.alpn_select_callback)

    def alpn_select_callback(conn: Any, options: list[bytes]) -> Any:
        data = conn.get_app_data()
        if (
            data["client_alpn"] is None
            and data["server_alpn"] is None
            and data["http2"]
            and b"h2" in options
        ):
            return b"h2"
        return original(conn, options)

    tlsconfig._fc_original_alpn_select = original  # type: ignore[attr-defined]
    tlsconfig.alpn_select_callback = alpn_select_callback
