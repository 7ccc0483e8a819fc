"""Composing one SQL statement out of parts that different apps write.

Each app keeps the SQL of its own tables; a caller that wants several apps' writes in one statement (one round
trip, atomic without a transaction of its own) joins their WITH clauses. Parts name their parameters
(`%(total)s`), which reads better than counting `%s`; a statement needs one style, so each part is turned into
positional parameters before it is joined.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

_NAMED = re.compile(r"%\((\w+)\)s")


def positional(sql: str, params: Mapping[str, object]) -> tuple[str, list]:
    """`sql` with each `%(name)s` replaced by `%s`, and the parameters in the order they now appear (a name used
    twice is passed twice). A name missing from `params` raises KeyError; `%%` stays as it is."""
    converted, names = _converted(sql)
    return converted, [params[name] for name in names]


@functools.lru_cache(maxsize=64)
def _converted(sql: str) -> tuple[str, tuple[str, ...]]:
    # The parts are the same few texts on every send: converted once per process, not once per statement.
    return _NAMED.sub("%s", sql), tuple(_NAMED.findall(sql))


def with_statement(clauses: list[tuple[str, list]], final: tuple[str, list]) -> tuple[str, list]:
    """`WITH clause, clause, ... final`: the clauses (each `name AS (...)`, in an order where every clause reads
    only earlier ones) and the final SELECT, each with its positional parameters."""
    sql = "WITH " + ",\n".join(clause for clause, _ in clauses) + "\n" + final[0]
    params = [param for _, clause_params in clauses for param in clause_params]
    return sql, [*params, *final[1]]
