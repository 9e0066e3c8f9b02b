"""Every mitmproxy addon and its plumbing: the modes (record, replay, inspect, simulate),
the control endpoint, scope, the h2c guard, the CA, and every private mitmproxy API
(``mitm_compat``). Not named ``proxy``: ``fc_cassette.proxy`` is the Python API."""
