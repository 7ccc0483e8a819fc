"""An access export's records (`privacy.data.export_records`): on PostgreSQL the times are written by the database,
elsewhere by Python; either way each file gets exactly what the JSON encoder and the CSV writer make of the datetime
(a whole second has no fraction; a fraction under a millisecond is `.000` in the JSON), and the encrypted number and
text arrive decrypted."""

import json
from datetime import UTC, datetime

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from messaging.models import Message
from portal.csv_export import operator_iso, safe_cell
from privacy.data.export_records import section_records, sections
from privacy.data.subjects import Subject
from tests.privacy.data_helpers import RECIPIENT_PHONE, make_message

pytestmark = pytest.mark.django_db

TIMES = [
    datetime(2026, 11, 29, 16, 0, 5, tzinfo=UTC),  # a whole second
    datetime(2026, 11, 29, 16, 0, 5, 500, tzinfo=UTC),  # under a millisecond
    datetime(2026, 11, 29, 23, 59, 59, 999999, tzinfo=UTC),  # the next day in Manila, truncated in the JSON
    datetime(2026, 1, 1, 0, 0, 0, 123000, tzinfo=UTC),
]


def test_times_and_decrypted_values_are_what_the_writers_make_of_them(org_a):
    for index, moment in enumerate(TIMES):
        message = make_message(org_a, RECIPIENT_PHONE, f"=SUM({index})", sent_at=moment)
        Message.objects.for_organization(org_a).filter(pk=message.pk).update(created_at=moment, delivered_at=None)
    subject = Subject.build(user_id=None, email="", phone=RECIPIENT_PHONE)

    found = {}
    for category in ("usage_data", "personal_information"):
        for section in sections(subject, category):
            if section.table != "messaging.Message":
                continue
            for chunk in section_records(section, chunk_size=3):  # chunks smaller than the records
                assert len(chunk.ids) <= 3
                for column, json_values, csv_values in zip(
                    section.columns, chunk.json_columns, chunk.csv_columns, strict=True
                ):
                    for pk, json_value, csv_value in zip(chunk.ids, json_values, csv_values, strict=True):
                        found.setdefault(pk, {})[column] = (
                            json.loads(DjangoJSONEncoder().encode(json_value)),
                            safe_cell(csv_value),
                        )

    assert len(found) == len(TIMES)
    encoder = DjangoJSONEncoder()
    for (pk, values), (index, moment) in zip(sorted(found.items()), enumerate(TIMES), strict=True):
        expected_time = (encoder.default(moment), operator_iso(moment))
        assert values["created_at"] == expected_time, pk
        assert values["sent_at"] == expected_time, pk
        assert values["delivered_at"] == (None, ""), pk
        assert values["recipient"] == (RECIPIENT_PHONE, RECIPIENT_PHONE)
        assert values["body"] == (f"=SUM({index})", f"'=SUM({index})")
    assert found[min(found)]["created_at"] == ("2026-11-29T16:00:05Z", "2026-11-30T00:00:05+08:00")
    assert found[sorted(found)[1]]["created_at"][0] == "2026-11-29T16:00:05.000Z"
