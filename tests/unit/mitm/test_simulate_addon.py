"""The simulate addon (mitmproxy's taddons): its log line, its deliverer's retries."""

from __future__ import annotations

import logging

from mitmproxy import http
from mitmproxy.test import taddons, tflow

from fc_cassette.mitm.addon import all_addons

KEY = "sk_test_" + "51AbCdEfGhIjKlMnOpQrStUv"


def test_a_key_straddling_the_log_clip_is_still_redacted(caplog):
    core, sim = all_addons("simulate")
    with taddons.context(core, sim) as tctx:
        tctx.options.update(fc_mode="simulate")
        prefix = "/v1/financial_connections/sessions/"
        path = prefix + "a" * (200 - len(prefix) - 17) + KEY  # a clip keeps 17 of its chars
        f = tflow.tflow(req=http.Request.make("GET", f"http://127.0.0.1{path}"))
        f.response = None
        with caplog.at_level(logging.INFO, logger="fc_cassette"):
            sim.request(f)
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("simulate:"))
    assert "sk_test_" not in line.replace("sk_test_REDACTED", "")
    assert KEY[8:14] not in line


def test_the_deliverers_waits_are_the_configs(tmp_path):
    """webhooks.retry_after_s reaches the simulator's deliverer (the default: 0.5, 1, 2
    and 4 s); replay's: tests/e2e/test_webhooks_record_replay_e2e.py (three attempts)."""
    config = tmp_path / "c.yaml"
    config.write_text("webhooks:\n  retry_after_s: [0.25, 0]\n")
    core, sim = all_addons("simulate")
    with taddons.context(core, sim) as tctx:
        tctx.options.update(fc_mode="simulate")
        assert sim.deliverer.backoff == (0.5, 1.0, 2.0, 4.0)
        tctx.options.update(fc_config=str(config))
        assert sim.deliverer.backoff == (0.25, 0.0) and sim.deliverer.max_attempts == 3
