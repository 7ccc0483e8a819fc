"""A blind index over the encrypted message text: the words of a body, normalised, each as a short keyed hash.

The text is encrypted at rest, so the database cannot search it. Beside it `Message.body_terms` keeps
" h1 h2 h3 " (a space before and after every term): the first characters of `keyed_hash(word, purpose=...)` of each
distinct word of 2+ letters or digits, lower-cased, accents and punctuation stripped, at most MAX_TERMS of them. A
search for some words asks, on PostgreSQL, that the column split into its hashes contain them all: one condition
answered by the GIN index `message_body_terms_gin` on that very expression (migration 0022), so a word found in
no message is known at once instead of after reading every message of the organization. Elsewhere (SQLite) each
hash surrounded by spaces is looked for in the text (`body_terms__contains`). The column reads as hex: without the
pepper a word cannot be told from its hash, and the pepper is per purpose, so these hashes match no other lookup
column.

What it gives away: that two of an organization's messages share a word, and how many distinct words a message has
(capped). Prefixes and substrings are not searchable; a word is found only whole.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import connection, models, transaction
from django.db.models import F, Func, QuerySet

from portal.crypto import keyed_hash

BODY_TERM_PURPOSE = "messaging.body_term"
# 16 hex characters (64 bits): collisions within one organization's vocabulary are out of reach, the column stays
# about a quarter of a full hash.
TERM_LENGTH = 16
MAX_TERMS = 64
MIN_WORD_LENGTH = 2

_WORD = re.compile(r"[^\W_]+")

# A count over a search reads the GIN index into a bitmap of every matching message before its first row. Words
# that are common together (157,490 messages at a million) outgrow PostgreSQL's default work_mem (4 MB): the bitmap
# then keeps whole pages, and every message on them is checked again (EXPLAIN: 59,482 rows, 244 ms; 107 ms with
# this much).
SEARCH_COUNT_WORK_MEM = "16MB"


def normalised_words(text: str) -> list[str]:
    """Distinct words in order of first appearance: accents dropped (NFKD, marks removed), lower-cased, split on
    anything that is not a letter or digit, words shorter than MIN_WORD_LENGTH left out."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    seen: dict[str, None] = {}
    for word in _WORD.findall(plain):
        if len(word) >= MIN_WORD_LENGTH:
            seen.setdefault(word, None)
    return list(seen)


@lru_cache(maxsize=65536)
def _term(pepper: str, word: str) -> str:
    # Keyed by the pepper too, so a changed pepper never serves a hash made with the old one. A campaign repeats
    # the same words in every message: the cache keeps the send path from hashing them again.
    return keyed_hash(word, purpose=BODY_TERM_PURPOSE)[:TERM_LENGTH]


def term_hashes(words: list[str]) -> list[str]:
    pepper = settings.HASHING_PEPPER
    return [_term(pepper, word) for word in words]


def body_terms(text: str) -> str:
    """The value of `Message.body_terms` for a body ("" for an empty one)."""
    hashes = term_hashes(normalised_words(text)[:MAX_TERMS])
    return f" {' '.join(hashes)} " if hashes else ""


class StoredTerms(Func):
    """`body_terms` as an array of its hashes (PostgreSQL): the expression the index `message_body_terms_gin` is
    built on. Written exactly as the index's, so that a containment of it is answered from the index."""

    template = "string_to_array(btrim(%(expressions)s), ' ')"
    arity = 1
    output_field = ArrayField(models.TextField())


def messages_with_words(queryset: QuerySet, query: str) -> QuerySet:
    """The messages of `queryset` whose text has every word of `query` (whole words, any case or accents)."""
    hashes = term_hashes(normalised_words(query))
    if not hashes:
        return queryset
    if connection.vendor == "postgresql":
        return queryset.alias(stored_terms=StoredTerms(F("body_terms"))).filter(stored_terms__contains=hashes)
    for term in hashes:
        queryset = queryset.filter(body_terms__contains=f" {term} ")
    return queryset


@contextlib.contextmanager
def search_count_memory() -> Iterator[None]:
    """Inside the block, on PostgreSQL, a query may use SEARCH_COUNT_WORK_MEM (for the transaction the block opens or
    joins: `set_config(..., true)` is `SET LOCAL`, which takes parameters)."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('work_mem', %s, true)", [SEARCH_COUNT_WORK_MEM])
        yield
