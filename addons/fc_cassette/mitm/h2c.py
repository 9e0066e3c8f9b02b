"""HTTP/2 cleartext (h2c): refused in one clear log line, never seen by a mode addon.

mitmproxy 11 speaks HTTP/2 only over TLS. A client that opens a cleartext connection
with HTTP/2 "prior knowledge" (``curl --http2-prior-knowledge``, grpc, some HTTP/2-only
clients) sends the connection preface ``PRI * HTTP/2.0``, which mitmproxy's HTTP/1
layer parses as a request with method ``PRI`` and path ``*``. mitmproxy's own
``DisableH2C`` addon kills that flow, but every later addon still gets its ``request``
hook: replay answered it as an out-of-scope ``PRI *`` miss, hiding the cause. A
forward proxy makes no flow of it at all (a 400, "no host header", and no log line).

:class:`H2cGuard` takes ``DisableH2C``'s place (it removes it when mitmproxy starts, so the log
has one line, not two): it logs the refusal once per connection (from the
``next_layer`` hook, which sees the preface in every mode), kills the preface flow and marks it as
answered (a response object that is never sent: the connection is closed), so the
mode addons after it in the chain ignore it and nothing counts it as a miss. Like
``DisableH2C``, it strips an ``Upgrade: h2c`` offer from HTTP/1.1 requests (the
request then goes on as HTTP/1.1). HTTP/2 over TLS (forward mode, ALPN ``h2``) is
not affected.
"""

from __future__ import annotations

import logging

from mitmproxy import ctx, http
from mitmproxy.connection import Client
from mitmproxy.proxy.layer import NextLayer

from fc_cassette.mitm import mitm_compat

log = logging.getLogger("fc_cassette")
H2C_REFUSED = "fc_cassette_h2c_refused"  # flow.metadata key of a refused preface
PREFACE_LINE = b"PRI * HTTP/2.0"


def is_preface(flow: http.HTTPFlow) -> bool:
    req = flow.request
    return req.method == "PRI" and req.path == "*" and req.http_version == "HTTP/2.0"


class H2cGuard:
    def __init__(self) -> None:
        self._told: set[str] = set()  # ids of client connections already logged
        self.refused = 0  # client connections refused: a client that failed (--strict)

    def running(self) -> None:
        # Not in load: AddonManager.add appends to the chain it read before load ran,
        # and remove() replaces the chain list (our own addon would be lost).
        mitm_compat.remove_builtin(ctx.master.addons, "disableh2c")

    def next_layer(self, nextlayer: NextLayer) -> None:
        """Every mode sees the preface here first: a forward proxy answers it with a 400
        ("no host header") and makes no flow, so this is where it is logged. (Over TLS
        the same preface is ordinary HTTP/2, negotiated by ALPN: left alone.)"""
        client = nextlayer.context.client
        if not client.tls and nextlayer.data_client().startswith(PREFACE_LINE):
            self._tell(client)

    def request(self, flow: http.HTTPFlow) -> None:
        headers = flow.request.headers
        if headers.get("upgrade", "").lower() == "h2c":  # as mitmproxy's DisableH2C
            for name in ("upgrade", "connection", "http2-settings"):
                headers.pop(name, None)
        if not is_preface(flow):
            return
        if flow.killable:
            flow.kill()
        # never sent (the flow is killed): it tells the mode addons the flow is answered
        flow.response = http.Response.make(505, b"", {"content-type": "text/plain"})
        flow.metadata[H2C_REFUSED] = True
        self._tell(flow.client_conn)

    @property
    def exit_code(self) -> int:
        """1 under --strict once a client connection was refused: that client failed,
        so the run must not pass (read through the core, see FcCore.exit_code)."""
        return 1 if self.refused and getattr(ctx.options, "fc_strict", False) else 0

    def done(self) -> None:
        if self.exit_code:
            log.error(
                "fc-cassette --strict: %d client connection(s) refused (HTTP/2 cleartext): exit 1",
                self.refused,
            )

    def client_disconnected(self, client: Client) -> None:
        self._told.discard(client.id)

    def _tell(self, client: Client) -> None:
        if client.id in self._told:
            return
        self._told.add(client.id)
        self.refused += 1
        peer = client.peername
        who = f"{peer[0]}:{peer[1]}" if peer else "a client"
        log.warning(
            "fc-cassette: refused HTTP/2 cleartext (h2c prior knowledge) from %s: "
            "mitmproxy speaks HTTP/2 only over TLS; use HTTP/1.1 (e.g. curl without "
            "--http2-prior-knowledge), see docs/cli.md",
            who,
        )
