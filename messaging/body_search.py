"""A blind index over the encrypted message text: the words of a body, normalised, each as a short keyed hash.

The text is encrypted at rest, so the database cannot search it. Beside it `Message.body_terms` keeps
" h1 h2 h3 " (a space before and after every term): the first characters of `keyed_hash(word, purpose=...)` of each
distinct word of 2+ letters or digits, lower-cased, accents and punctuation stripped, at most MAX_TERMS of them. A
search for some words asks for each hash surrounded by spaces (`body_terms__contains`), on SQLite and PostgreSQL
alike. The column reads as hex: without the pepper a word cannot be told from its hash, and the pepper is per
purpose, so these hashes match no other lookup column.

What it gives away: that two of an organization's messages share a word, and how many distinct words a message has
(capped). Prefixes and substrings are not searchable; a word is found only whole.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from django.conf import settings

from portal.crypto import keyed_hash

BODY_TERM_PURPOSE = "messaging.body_term"
# 16 hex characters (64 bits): collisions within one organization's vocabulary are out of reach, the column stays
# about a quarter of a full hash.
TERM_LENGTH = 16
MAX_TERMS = 64
MIN_WORD_LENGTH = 2

_WORD = re.compile(r"[^\W_]+")


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


def search_terms(query: str) -> list[str]:
    """The surrounded hashes a search must find, one per distinct word of the query (all must match)."""
    return [f" {term} " for term in term_hashes(normalised_words(query))]
