"""What a recorder counted over its run, the exchanges missing from its cassettes, and the
run's closing report (the exit code of ``fc-cassette record``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from fc_cassette.matching.misses import MAX_KEPT_MISSES

log = logging.getLogger("fc_cassette")


@dataclass
class Tally:
    news: Callable[[], None]  # told when the status has news (the recorder's: control's)
    requests: int = 0  # every request but the control endpoint's: 0 = the app never came
    recorded: int = 0
    refused: int = 0  # fail closed: the scanner, an entry the loader would refuse
    failed: int = 0
    no_response: int = 0
    upstream_refused: int = 0  # upstream connections refused while only replaying
    webhooks_recorded: int = 0
    # one redacted line per in-scope exchange missing from the cassette (a response
    # withheld because it could not be written, or no response from upstream); the
    # first MAX_KEPT_MISSES, all counted: the control endpoint and the pytest plugin
    not_recorded: list[str] = field(default_factory=list)
    not_recorded_total: int = 0
    exit_code: int = 0

    def counts(self) -> dict[str, int]:
        """The counters a cassette's summary takes the difference of (see Switch)."""
        return {
            "recorded": self.recorded,
            "refused": self.refused,
            "failed": self.failed,
            "no_response": self.no_response,
            "not_recorded": len(self.not_recorded),
        }

    def missing(self, line: str) -> None:
        """Count an in-scope exchange missing from the cassette and keep its (redacted)
        line for the status and the pytest plugin; the run then exits 1."""
        self.not_recorded_total += 1
        self.exit_code = 1  # like replay --strict: the run lost something
        if len(self.not_recorded) < MAX_KEPT_MISSES:
            self.not_recorded.append(line)
        self.news()  # before the client gets its answer

    def report(self, replayed: int, strict: bool) -> None:
        """The run's closing lines (and exit 1 under ``strict`` when no request came)."""
        log.info(
            "fc-cassette record: recorded %d, replayed %d, refused (fail closed) "
            "%d, failed %d, no response %d, upstream connections refused %d",
            self.recorded,
            replayed,
            self.refused,
            self.failed,
            self.no_response,
            self.upstream_refused,
        )
        if self.not_recorded_total:
            log.error(
                "fc-cassette record: %d in-scope exchange(s) not recorded (%d "
                "response(s) withheld because they could not be recorded, %d "
                "without a response): exit 1",
                self.not_recorded_total,
                self.not_recorded_total - self.no_response,
                self.no_response,
            )
        if not self.requests:
            self._nothing_seen(strict)

    def _nothing_seen(self, strict: bool) -> None:
        """No request reached the proxy: the app is not pointed at it. Said loudly (a
        'recorded 0' line reads like success), and exit 1 under --strict."""
        log.error(
            "fc-cassette record: NO request reached the proxy, so nothing was recorded "
            "and no cassette was written. Point the app's Stripe API base at this "
            "proxy (stripe-python: StripeClient(..., base_addresses={'api': "
            "'http://127.0.0.1:PORT'}); stripe-node: host, port and protocol 'http'), "
            "or run with --forward and set HTTPS_PROXY and the CA (docs/forward-mode.md)"
            "%s",
            ": exit 1 (--strict)" if strict else "",
        )
        if strict:
            self.exit_code = 1
