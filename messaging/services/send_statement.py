"""One organization's new messages stored and charged in a single statement (PostgreSQL).

The usual way (`sending.sends_store`) is a transaction of six round trips: BEGIN, the suppression check, the INSERT
with the daily counts, the charge with its ledger entries, COMMIT, then the dispatcher's wake-up (here part of
the statement too; a second statement only when no dispatcher run is pending). For the API's
small sends each round trip costs more than the rows it writes. Here the same writes are one statement, run in
autocommit: a statement is atomic on its own, so it needs no BEGIN or COMMIT, and it either writes everything or
nothing. Its WITH clauses, each written by the app that owns the table:

    found    the numbers suppressed for the organization (privacy's and messaging's answers, `portal.hooks`)
    clear    a row only when nothing was found
    charged  the conditional UPDATE of the credit account (billing), only when `clear` has a row
    inserted the messages (only when `charged` has a row), returning their ids
    entries  one ledger entry per inserted message (billing)
    counted  the daily counts (only when `inserted` has rows)

and its final SELECT reads whether a dispatcher run is pending, under a share lock (`dispatch.wake`): the wake-up
after the commit is needed only when none is.

Rows are locked in the order every other writer locks them: the credit account, then the count rows. When the
statement returns nothing (a number is suppressed, the credits or the monthly limit do not allow it, the account
names another plan, or it has no account yet), nothing was written and the caller stores the messages the usual
way, which says why, or stores the rejected messages.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from accounts.models import Organization
from billing.charging import charge_clauses, charge_taken
from billing.plan_cache import SendPricing
from messaging.dispatch.wake import wake_after_statement, wake_pending_clause
from messaging.models import Message
from messaging.services import daily_counts
from messaging.services.message_store import inserted_clause, inserted_ids_set
from portal import hooks
from portal.sql import with_statement

logger = logging.getLogger(__name__)

_FINAL = (
    "SELECT inserted.id, inserted.recipient, charged.balance, charged.low_balance_threshold, "
    "charged.low_balance_alerted, {wanted_at} FROM inserted, charged"
)


def messages_store_charged(
    *, organization: Organization, pricing: SendPricing, messages: list[Message], now, wake: str | None
) -> bool:
    """Store `messages` (new, queued, all of `organization`, priced with `pricing`) and charge them, in one
    statement; True when stored (each message then has its id), False when nothing was written (see the module).
    `wake`: the dispatcher task to wake after the commit (None: none, the messages are scheduled); the statement
    reads whether a run of it is pending already (`dispatch.wake.wake_pending_clause`), so that it is woken only
    when none is. Runs outside a transaction (a statement of its own) or inside the caller's."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql" or not messages:
        return False
    suppression = hooks.suppression_statement(
        organization_id=organization.pk, numbers={message.recipient for message in messages}
    )
    clauses: list[tuple[str, list]] = []
    if suppression is not None:
        clauses.append((f"found AS ({suppression[0]})", suppression[1]))
        clauses.append(("clear AS (SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM found))", []))
    else:
        clauses.append(("clear AS (SELECT 1)", []))
    counted = daily_counts.messages_created_clause(messages, after="inserted")
    if counted is None:
        return False  # inside a `counts_collected` block: the usual way joins it
    charged, entries = charge_clauses(
        organization=organization,
        pricing=pricing,
        total=sum((message.price for message in messages), Decimal("0.00")),
        segments=sum(message.segments for message in messages),
        now=now,
        only_if="clear",
        items="inserted",
    )
    inserted = inserted_clause(messages, only_if="charged")
    clauses += [charged, (inserted.sql, inserted.params), entries, counted]
    wanted_at_sql, wanted_at_params = wake_pending_clause(wake) if wake is not None else ("NULL", [])
    with db.cursor() as cursor:
        cursor.execute(*with_statement(clauses, (_FINAL.format(wanted_at=wanted_at_sql), wanted_at_params)))
        rows = cursor.fetchall()
    if not rows:
        return False
    inserted_ids_set(inserted, [(message_id, recipient) for message_id, recipient, *_ in rows])
    _, _, balance, threshold, alerted, wanted_at = rows[0]
    if wake is not None:
        wake_after_statement(wake, wanted_at)
    try:
        charge_taken(organization=organization, balance=balance, threshold=threshold, alerted=alerted)
    except DatabaseError:
        # The messages are stored and charged: the answer must say so. The next charge arms the e-mail instead.
        logger.warning("Could not arm the low-balance e-mail of organization %s", organization.pk, exc_info=True)
    return True
