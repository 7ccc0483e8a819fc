"""The log's CSV export: times in the operator's zone (named in the header), the number and the text as the
customer wrote them, free text neutralised, the same on SQLite and on PostgreSQL (where the database formats the
times)."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection

from messaging import selectors
from messaging.log_export import EXPORT_CHUNK_SIZE, export_rows
from messaging.models import Message, MessageChannel, MessageStatus


def _message(organization, *, created_at, body="Hello", **extra):
    return Message.objects.create(
        organization=organization,
        recipient="+639171234567",
        network="globe",
        body=body,
        sender_name="IPROGSMS",
        encoding="gsm7",
        segments=1,
        price=Decimal("0.5000"),
        status=MessageStatus.DELIVERED,
        channel=MessageChannel.API,
        created_at=created_at,
        **extra,
    )


def _export(organization) -> list[dict]:
    text = "".join(export_rows(selectors.message_list(organization=organization)))
    return list(csv.DictReader(io.StringIO(text)))


def _check(org_a, org_b):
    sent = datetime(2026, 11, 29, 23, 30, 5, 123456, tzinfo=UTC)  # 07:30:05 the next day in Manila
    _message(org_a, created_at=sent, sent_at=sent, body="=cmd|' /C calc'!A0", error_message="@SUM(1)")
    _message(org_b, created_at=sent)
    [row] = _export(org_a)
    assert row["created_at (Asia/Manila)"] == "2026-11-30 07:30:05"
    assert row["sent_at (Asia/Manila)"] == "2026-11-30 07:30:05"
    assert row["send_at (Asia/Manila)"] == "" and row["delivered_at (Asia/Manila)"] == ""
    assert row["to"] == "+639171234567"
    assert row["body"] == "'=cmd|' /C calc'!A0"
    assert row["error_message"] == "'@SUM(1)"
    assert row["price"] in ("0.5000", "0.5")
    assert (row["status"], row["network"], row["segments"]) == ("delivered", "globe", "1")


def test_export_writes_manila_times_and_clear_text(org_a, org_b):
    _check(org_a, org_b)


@pytest.mark.postgres
def test_export_on_postgresql_formats_times_in_the_database(org_a, org_b):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL formats the times itself (to_char); run with DATABASE_URL=postgres://...")
    _check(org_a, org_b)


def test_export_streams_one_string_per_chunk(org_a):
    Message.objects.bulk_create(
        Message(
            organization=org_a,
            recipient="+639171234567",
            network="globe",
            body=f"Message {index}",
            sender_name="IPROGSMS",
            encoding="gsm7",
            segments=1,
            status=MessageStatus.SENT,
            channel=MessageChannel.API,
        )
        for index in range(EXPORT_CHUNK_SIZE + 5)
    )
    chunks = list(export_rows(selectors.message_list(organization=org_a)))
    assert len(chunks) == 3  # header, a full chunk, the rest
    assert chunks[1].count("\n") == EXPORT_CHUNK_SIZE and chunks[2].count("\n") == 5
