"""The log export writes timestamps from the database's text form exactly as `datetime.isoformat()` would."""

from datetime import UTC, datetime

import pytest

from messaging.views import _iso_from_text


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-11-29 08:00:00+00", datetime(2026, 11, 29, 8, 0, 0, tzinfo=UTC)),
        ("2026-11-29 08:00:00.12+00", datetime(2026, 11, 29, 8, 0, 0, 120000, tzinfo=UTC)),
        ("2026-11-29 08:00:00.000001+00", datetime(2026, 11, 29, 8, 0, 0, 1, tzinfo=UTC)),
        ("2026-11-29 08:00:00.654321", datetime(2026, 11, 29, 8, 0, 0, 654321, tzinfo=UTC)),  # SQLite
        ("2026-11-29 08:00:00", datetime(2026, 11, 29, 8, 0, 0, tzinfo=UTC)),  # SQLite
    ],
)
def test_text_timestamp_matches_isoformat(text, moment):
    assert _iso_from_text(text) == moment.isoformat()


def test_missing_timestamp_is_empty():
    assert _iso_from_text(None) == ""
