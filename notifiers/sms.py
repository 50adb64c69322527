"""SMS length in segments, as carriers count it (GSM-7 or UCS-2)."""

from __future__ import annotations

import math

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def segments(text: str) -> int:
    """How many SMS parts `text` takes: GSM-7 160 (153 per part), else UCS-2 70 (67 per part)."""
    if is_gsm7(text):
        length = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
        single, per_part = 160, 153
    else:
        length = len(text.encode("utf-16-le")) // 2
        single, per_part = 70, 67
    if length <= single:
        return 1
    return math.ceil(length / per_part)


def fit(text: str, max_segments: int = 2) -> str:
    """`text` within `max_segments`: whole sentences dropped from the end, else cut short.

    Templates are tested to fit with long realistic values; this is the guard for what a
    test cannot foresee (a Cyrillic name in an English message turns it into UCS-2).
    """
    if segments(text) <= max_segments:
        return text
    sentences = text.split(". ")
    while len(sentences) > 1:
        sentences.pop()
        candidate = ". ".join(sentences) + "."
        if segments(candidate) <= max_segments:
            return candidate
    while text and segments(text + "…") > max_segments:
        text = text[:-1]
    return text + "…"
