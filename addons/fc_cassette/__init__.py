"""fc-cassette: record/replay proxy for Stripe, with Financial Connections built in.

``fc_cassette.proxy("c.yaml")`` runs a cassette from Python (see docs/python-api.md);
it is imported on first use, so that importing the package stays cheap.
"""

from fc_cassette._version import __version__ as __version__

_API = ("proxy", "Proxy", "ProxyError", "ReplayMisses")


def __getattr__(name: str):
    if name in _API:
        from fc_cassette.harness import api

        return getattr(api, name)
    raise AttributeError(f"module 'fc_cassette' has no attribute {name!r}")
