"""Text normalization shared by value equality (metrics) and near-duplicate detection
(splitting): two strings that differ only in this are the same text."""

from __future__ import annotations

import unicodedata


def normalize_text(text: str) -> str:
    """NFKC, case folding, no whitespace, no punctuation (so `约翰·多伊` == `约翰 多伊`)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(
        ch for ch in text if not ch.isspace() and not unicodedata.category(ch).startswith("P")
    )
