"""SMS segment counting per GSM 03.38 / 3GPP TS 23.038.

- A body made only of the GSM 7-bit default alphabet (plus its extension table) is sent as GSM-7: one segment
  holds 160 septets; a multipart message holds 153 per segment (7 go to the concatenation header). Extension
  characters (^ { } \\ [ ~ ] | € and form feed) are sent as ESC + char and so take 2 septets.
- Any other character makes the whole message UCS-2: 70 UTF-16 code units in one segment, 67 per segment in a
  multipart message. Characters outside the Basic Multilingual Plane (most emoji) take 2 code units.
- Like handsets and the major gateways, a multipart message never splits an ESC pair or a UTF-16 surrogate
  pair across two segments; such a character moves whole to the next segment, which can add a segment compared
  with a plain ceil(units / 153). `characters` is the total number of septets (GSM-7) or code units (UCS-2).
- An empty body counts 0 segments; callers reject empty messages before sending.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE = 160
GSM7_MULTI = 153
UCS2_SINGLE = 70
UCS2_MULTI = 67


class Encoding(models.TextChoices):
    """How the message body travels over the air."""

    # GSM 03.38 7-bit default alphabet: 160 characters per single SMS.
    GSM7 = "gsm7", "GSM-7"
    # UTF-16 (UCS-2) for anything outside the GSM alphabet: 70 code units per single SMS.
    UCS2 = "ucs2", "UCS-2"


@dataclass(frozen=True)
class SegmentInfo:
    encoding: Encoding
    segments: int
    # Septets (GSM-7) or UTF-16 code units (UCS-2) in the whole body.
    characters: int
    # Capacity of one segment for this message: 160/153 (GSM-7) or 70/67 (UCS-2).
    per_segment: int
    # Units still free in the last segment before another segment is needed.
    remaining_in_segment: int


def is_gsm7(body: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in body)


def non_gsm_characters(body: str) -> list[str]:
    """The distinct characters that force UCS-2, in order of appearance (for "why is this 70?" hints)."""
    seen: dict[str, None] = {}
    for char in body:
        if char not in GSM7_BASIC and char not in GSM7_EXTENSION:
            seen.setdefault(char, None)
    return list(seen)


def _unit_sizes(body: str, encoding: Encoding) -> list[int]:
    if encoding == Encoding.GSM7:
        return [2 if char in GSM7_EXTENSION else 1 for char in body]
    return [2 if ord(char) > 0xFFFF else 1 for char in body]


def count_segments(body: str) -> SegmentInfo:
    encoding = Encoding.GSM7 if is_gsm7(body) else Encoding.UCS2
    single, multi = (GSM7_SINGLE, GSM7_MULTI) if encoding == Encoding.GSM7 else (UCS2_SINGLE, UCS2_MULTI)
    sizes = _unit_sizes(body, encoding)
    total = sum(sizes)
    if total == 0:
        return SegmentInfo(encoding, 0, 0, single, single)
    if total <= single:
        return SegmentInfo(encoding, 1, total, single, single - total)
    segments, used = 1, 0
    for size in sizes:
        if used + size > multi:
            segments += 1
            used = 0
        used += size
    return SegmentInfo(encoding, segments, total, multi, multi - used)
