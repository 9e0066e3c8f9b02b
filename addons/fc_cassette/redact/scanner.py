"""The fail-closed scanner: an independent second line after the redactor.

It shares only the secret patterns (:mod:`.patterns`) and the decoders (:mod:`.codecs`)
with the redactor, never the redactor itself: it re-reads the serialized text and
reports every secret left, looking through more layers than the redactor rewrites.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from fc_cassette.redact.codecs import (
    _B32_RUN,
    _DEFLATE_PROBE,
    _HTML_SPAN,
    _MIME_RUN,
    _PCT_SPAN,
    _PCT_TOKEN,
    _UESC_SPAN,
    _UESC_TOKEN,
    _b64_decode,
    _b64_windows,
    _decode_mapped,
    _pct_one,
    _uesc_one,
    _unescape,
    base32_windows,
    hex_windows,
    html_unescaped,
    inflated,
    mime_joined,
)
from fc_cassette.redact.fieldshapes import secret_values
from fc_cassette.redact.kinds import kind_of
from fc_cassette.redact.patterns import (
    _BEARER_SCAN,
    _ESC_SECRET,
    _INTERESTING,
    _SECRET,
    MAX_DEPTH,
    _is_field_value_secret,
    _matches_from,
    _secret_matches,
    _token_flagged,
    bearer_at,
    field_matches,
    has_bearer,
    mask,
)
from fc_cassette.redact.runs import as_bytes, b64_runs, has_b32_run, hex_runs, mime_starts


@dataclass(frozen=True)
class Finding:
    """A secret that survived: its kind, where (offset in the scanned text), masked."""

    kind: str
    offset: int
    excerpt: str
    encoding: str = "raw"


Found = list[tuple[str, str, int, str]]  # (kind, secret, offset, encoding chain)


def _find(text: str, depth: int) -> Found:
    """(kind, secret, offset, encoding chain) for every secret in ``text``."""
    found: Found = []
    interesting = _INTERESTING.search(text) is not None
    if not interesting and "&" not in text:
        return found
    if interesting:  # (nothing the raw rules read is there otherwise)
        _find_raw(text, found)
    if depth >= MAX_DEPTH:
        return found

    def nested(span: str, start: int, inner: str, layer: str) -> None:
        for kind, secret, _, chain in _find(inner, depth + 1):
            if secret not in span:  # otherwise already reported in raw form
                enc = layer if chain == "raw" else f"{layer}+{chain}"
                found.append((kind, secret, start, enc))

    if interesting:
        raw = as_bytes(text)  # character-class runs are located at C speed (see .runs)
        _find_rewritable_layers(text, raw, nested)
        _find_more_layers(text, raw, nested)
        found.extend(_basic_pairs(text, raw))
    else:  # only an "&": every other layer needs what _INTERESTING matches
        _find_html(text, nested)
    return found


# A whole base64 or hex run that decodes to Basic credentials, ``user:password`` (an
# upstream echoing a Basic Authorization header's pair; redacted pairs read
# ``REDACTED_1:REDACTED_2``)
_BASIC_PAIR = re.compile(rb"[A-Za-z0-9._~+@-]{1,64}:(?!REDACTED_[0-9])[\x21-\x7e]{6,128}")


def _basic_pairs(text: str, raw: bytes) -> Found:
    """Base64 and hex runs that decode, whole, to Basic credentials."""
    return [
        ("bearer", text[a:b], a, layer)
        for runs, hexed, layer in ((b64_runs(raw), False, "base64"), (hex_runs(raw), True, "hex"))
        for a, b in runs
        if _basic_pair(text[a:b], hexed)
    ]


def _basic_pair(run: str, hexed: bool) -> bool:
    if len(run) > 400:
        return False
    if hexed:
        dec = bytes.fromhex(run) if len(run) % 2 == 0 else None
    else:
        got = _b64_decode(run.rstrip("="))
        dec = got[0] if got is not None and got[1] == len(run.rstrip("=")) else None
    return dec is not None and _BASIC_PAIR.fullmatch(dec) is not None


def _find_rewritable_layers(
    text: str, raw: bytes, nested: Callable[[str, int, str, str], None]
) -> None:
    """The layers the redactor rewrites too: percent, \\u escapes, base64 (also of
    gzip, and of UTF-16/32 text)."""
    if "%" in text:
        for m in _PCT_SPAN.finditer(text):
            span = m.group(0)
            if "%" in span:
                dec = _decode_mapped(span, _PCT_TOKEN, _pct_one)[0]
                if dec != span:
                    nested(span, m.start(), dec, "percent")
    if "\\" in text:
        for m in _UESC_SPAN.finditer(text):
            span = m.group(0)
            if "\\" in span:
                nested(
                    span,
                    m.start(),
                    _decode_mapped(span, _UESC_TOKEN, _uesc_one)[0],
                    "unicode-escape",
                )
    for start, end in b64_runs(raw):
        run = text[start:end]
        windows = _b64_interesting_cached(run) if len(run) <= 512 else _b64_interesting(run)
        if windows:
            basic = text[max(0, start - 6) : start].lower() == "basic "
            for k, dec, layer in windows:
                nested(run, start + k, dec, layer.replace("base64", "basic") if basic else layer)


def _find_raw(text: str, found: Found) -> None:
    """Secrets of a known shape as they stand, or behind percent/\\u escapes; bearer
    tokens; values of secret fields."""
    for m in _secret_matches(text):
        if m.group("ph") is None:
            found.append((kind_of(m.group("prefix")), m.group(0), m.start(), "raw"))
    if "%" in text or "\\" in text:
        for m in _ESC_SECRET.finditer(text):
            t = m.group(0)
            if "%" in t or "\\" in t:
                for sm in _SECRET.finditer(_unescape(t)):
                    if sm.group("ph") is None:
                        found.append(
                            (
                                kind_of(sm.group("prefix")),
                                sm.group(0),
                                m.start(),
                                "percent" if "%" in t else "unicode-escape",
                            )
                        )
    if "secret" in text:
        for m in field_matches(text):
            val = m.group("val")
            if _is_field_value_secret(val) and not _SECRET.match(val):
                found.append(("secret_field", val, m.start("val"), "raw"))
        for start, end in secret_values(text):  # multipart parts, binary values
            found.append(("secret_field", text[start:end], start, "raw"))
    if has_bearer(text):
        # a token already reported as a key or client secret is not reported again; the
        # bearer findings added below start before their own token, and before any
        # later token, so only the offsets found so far matter (sorted: no quadratic scan)
        known = sorted(f[2] for f in found)
        for m in _bearer_scan_matches(text):
            tok = m.group("tok")
            i = bisect.bisect_left(known, m.start("tok"))
            if _token_flagged(tok, m.group("auth") is not None) and not (
                i < len(known) and known[i] < m.end("tok")
            ):
                found.append(("bearer", tok.rstrip("."), m.start("scheme"), "raw"))


def _find_more_layers(text: str, raw: bytes, nested: Callable[[str, int, str, str], None]) -> None:
    """The layers only the scanner reads: hex, base32, HTML character references,
    line-wrapped (MIME) base64; gzip inside base64 is read with base64."""
    for start, end in hex_runs(raw):
        run = text[start:end]
        for k, dec in hex_windows(run):
            if _INTERESTING.search(dec):
                nested(run, start + k, dec, "hex")
    for m in _B32_RUN.finditer(text) if has_b32_run(raw) else ():
        if not m.group(0).rstrip("=").isdigit():
            for k, dec in base32_windows(m.group(0)):
                if _INTERESTING.search(dec) or "&" in dec:
                    nested(m.group(0), m.start() + k, dec, "base32")
    _find_html(text, nested)
    if "\n" in text or "\\n" in text:
        for m in _matches_from(_MIME_RUN, text, mime_starts(raw)):
            joined = mime_joined(m.group(0))
            for _k, dec, layer in (
                _b64_interesting_cached(joined) if len(joined) <= 512 else _b64_interesting(joined)
            ):
                nested(m.group(0), m.start(), dec, "mime-" + layer)


def _find_html(text: str, nested: Callable[[str, int, str, str], None]) -> None:
    """HTML character references."""
    if "&" in text:
        for m in _HTML_SPAN.finditer(text):
            span = m.group(0)
            if "&" in span and (dec := html_unescaped(span)) != span:
                nested(span, m.start(), dec, "html")


def _b64_interesting(run: str) -> tuple[tuple[int, str, str], ...]:
    """(alignment, decoded text, layer) of a base64-looking run whose decoding might
    hold a secret: as bytes read one per character, as UTF-16/UTF-32 text, or
    inflated when it holds gzip/zlib data."""
    windows = [(k, dec) for k, dec, _ in _b64_windows(run)]
    if not _WINDOW_TRIGGER.search("\x01".join(dec for _, dec in windows)):
        return ()  # the usual case, in one search: nothing below can apply
    out = []
    for k, dec in windows:
        if _INTERESTING.search(dec) or "&" in dec:
            out.append((k, dec, "base64"))
        if (inf := inflated(dec)) is not None:
            out.append((k, inf, "base64+gzip"))
        # both readings: an ASCII run elsewhere in the window must not hide wide text
        if "\x00" in dec and (wide := _wide_text(dec.encode("latin-1"))) is not None:
            out.append((k, wide, "base64"))
    return tuple(out)


# Anything that makes a decoded window worth a closer look below: what _INTERESTING
# matches, "&" (HTML), a gzip/zlib header, a NUL (wide text). Searched once over the
# windows joined by "\x01", which none of these contains (only "x\x01" can appear
# across a join, and a false hit only costs the closer look).
_WINDOW_TRIGGER = re.compile(
    _INTERESTING.pattern + "|&|\x00|" + "|".join(re.escape(p) for p in _DEFLATE_PROBE)
)


def _wide_text(raw: bytes) -> str | None:
    """``raw`` read as UTF-16 or UTF-32 (either byte order, any alignment), when that
    reading might hold a secret: a text body in those charsets is stored as base64,
    and read one byte per character its secrets are interleaved with NULs."""
    if raw.count(b"\x00") < 3:
        # whatever _INTERESTING matches is 3 ASCII characters at least ("%41"), and
        # each takes a NUL byte in UTF-16 (three in UTF-32): not wide text
        return None
    for codec, width in (("utf-16-le", 2), ("utf-16-be", 2), ("utf-32-le", 4), ("utf-32-be", 4)):
        for start in range(width):
            text = raw[start:].decode(codec, "ignore")
            if _INTERESTING.search(text):
                return text
    return None


# Entries repeat most runs (header values, ids, paths): decoding them again each time
# was a third of the scanner's cost per recorded interaction. Pure, so memoized.
_b64_interesting_cached = functools.lru_cache(maxsize=8192)(_b64_interesting)


def _bearer_scan_matches(text: str) -> Iterator[re.Match[str]]:
    """``_BEARER_SCAN.finditer(text)``, faster: its whitespace never crosses a line
    break, so only the lines where the cheap ``bearer`` probe hits can match."""
    line_end = -1
    for q in bearer_at(text):
        if q < line_end:
            continue  # that line was scanned already
        start = text.rfind("\n", 0, q) + 1
        line_end = text.find("\n", q + 6)
        if line_end < 0:
            line_end = len(text)
        yield from _BEARER_SCAN.finditer(text, start, line_end)


def scan(text: str) -> list[Finding]:
    """Every Stripe secret, client secret or bearer token left in ``text`` (fail closed).

    Looks through percent-encoding (repeated), ``\\uXXXX`` escapes and base64/base64url
    (including ``Basic`` credentials), up to :data:`MAX_DEPTH` layers. Placeholders and
    publishable keys are not findings. One finding per distinct secret (at the first
    place it shows); excerpts are masked.
    """
    seen: set[tuple[str, str]] = set()
    out: list[Finding] = []
    for kind, secret, offset, chain in sorted(_find(text, 0), key=lambda f: f[2]):
        if (kind, secret) in seen:  # one finding per distinct secret, at its first place
            continue
        seen.add((kind, secret))
        shown = ("Bearer " if kind == "bearer" else "") + mask(secret)
        excerpt = shown
        for layer in reversed(chain.split("+")):
            if layer != "raw":
                excerpt = f"{layer}({excerpt})"
        out.append(Finding(kind, offset, excerpt, chain))
    return out
