"""Merge fields: `{name}`, `{city}`, any contact field or CSV column, filled in per recipient.

A field is written in braces; its key is the column or field name in lower case with every run of other
characters made one underscore, so `{First Name}`, `{first name}` and `{first_name}` are the same field. Text in
braces that is not a field name (`{ }`, `{{`) is left as it is.

A field that no recipient has (a typo, `{nmae}`) or that is empty for one recipient is an error for that
recipient: the text is never sent with the braces still in it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

FIELD_PATTERN = re.compile(r"\{([A-Za-z][A-Za-z0-9_ .-]{0,39})\}")
# Fields every contact has, besides its custom ones.
BUILT_IN_FIELDS = ("name", "phone")


def field_key(name: str) -> str:
    """`First Name` -> `first_name`: how a column or field name is written in braces."""
    return re.sub(r"[^a-z0-9]+", "_", (name or "").strip().lower()).strip("_")


def fields_in(text: str) -> list[str]:
    """The field keys the text uses, in order of first use."""
    return list(dict.fromkeys(field_key(match.group(1)) for match in FIELD_PATTERN.finditer(text or "")))


def unknown_fields(text: str, known: Iterable[str]) -> list[str]:
    known = set(known)
    return [key for key in fields_in(text) if key not in known]


@dataclass(frozen=True)
class Rendered:
    text: str
    error: str = ""  # empty when the text can be sent


def render(text: str, values: Mapping[str, str], *, known: Iterable[str] | None = None) -> Rendered:
    """The text with each field filled from `values` (keys as `field_key` makes them).

    `known` is every field some recipient has: a field outside it is unknown (a typo), one inside it but missing or
    blank in `values` is empty for this recipient. Both are errors naming the field as it was written."""
    known = set(values) if known is None else set(known) | set(values)
    unknown: list[str] = []
    empty: list[str] = []

    def fill(match: re.Match) -> str:
        key = field_key(match.group(1))
        if key not in known:
            unknown.append(match.group(0))
            return match.group(0)
        value = str(values.get(key) or "").strip()
        if not value:
            empty.append(match.group(0))
        return value

    rendered = FIELD_PATTERN.sub(fill, text or "")
    if unknown:
        names = ", ".join(dict.fromkeys(unknown))
        return Rendered(rendered, f"Unknown merge field {names}: no contact field or CSV column has that name.")
    if empty:
        names = ", ".join(dict.fromkeys(empty))
        return Rendered(rendered, f"Empty merge field {names} for this recipient.")
    return Rendered(rendered)
