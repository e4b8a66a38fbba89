"""Agent text made safe to keep: what enters the history, snapshots and trajectory records.

:func:`sanitize_text` is applied once where text enters the env: it fits an observation (or a
raw reply) to the ``Text`` spaces (no ANSI escapes, NUL, control characters, lone surrogates or
the surrogate-escaped bytes of a non-UTF-8 file name; a length cap). :func:`scrub_surrogates`
replaces lone surrogates only, keeping every other character: for the raw replies that
trajectory records keep, and to tell an Action whose arguments hold one (a format error, as the
parser rules).
"""

from __future__ import annotations

import re
import string
from typing import TypeVar

MAX_TEXT = 1 << 20
"""Max length of an observation or action (characters)."""

_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
T = TypeVar("T")


def _charset() -> str:
    chars = set(string.printable)
    chars.update(chr(c) for c in range(0x20, 0x10000) if not 0xD800 <= c <= 0xDFFF and chr(c).isprintable())
    return "".join(sorted(chars))


CHARSET = _charset()
_CHARSET_SET = frozenset(CHARSET)


def sanitize_text(text: str, limit: int = MAX_TEXT) -> str:
    """Make text fit the Text spaces: drop ANSI escapes, replace other non-printables by U+FFFD, cap the length."""
    text = _ANSI_RE.sub("", text)
    if not _CHARSET_SET.issuperset(text):
        text = "".join(c if c in _CHARSET_SET else "\ufffd" for c in text)
    if len(text) > limit:
        marker = "\n... [truncated] ...\n"
        half = (limit - len(marker)) // 2
        text = text[:half] + marker + text[-half:]
    return text


def scrub_surrogates(value: T) -> T:
    """``value`` with every lone surrogate in its strings (in lists and dicts too) replaced by U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE_RE.sub("\ufffd", value) if _SURROGATE_RE.search(value) else value  # type: ignore[return-value]
    if isinstance(value, list):
        return [scrub_surrogates(v) for v in value]  # type: ignore[return-value]
    if isinstance(value, dict):
        return {scrub_surrogates(k): scrub_surrogates(v) for k, v in value.items()}  # type: ignore[return-value]
    return value

