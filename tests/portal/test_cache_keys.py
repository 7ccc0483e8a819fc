"""A cached read registered with `drop_on_change` is dropped when one of its rows is saved or deleted, at once and
again after the commit (the site notices are one such read)."""

import pytest
from django.core.cache import cache
from django.utils import timezone

from messaging.models import Notice
from messaging.notice_selectors import _ACTIVE_NOTICES_KEY, notices_active_cached

pytestmark = pytest.mark.django_db


def test_saving_and_deleting_a_row_drops_the_cached_read(django_capture_on_commit_callbacks):
    assert notices_active_cached() == []
    assert cache.get(_ACTIVE_NOTICES_KEY) == []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notice = Notice.objects.create(title="Maintenance", body="Tonight", dedupe_key="maintenance")
        assert cache.get(_ACTIVE_NOTICES_KEY) is None  # at once
        notices_active_cached()  # a page read before the commit caches the rows it saw ...
    assert len(callbacks) == 1
    assert cache.get(_ACTIVE_NOTICES_KEY) is None  # ... and the commit drops them again
    assert notices_active_cached() == [notice]
    notice.withdrawn_at = timezone.now()
    notice.save()
    assert cache.get(_ACTIVE_NOTICES_KEY) is None
    assert notices_active_cached() == []
    notice.delete()
    assert cache.get(_ACTIVE_NOTICES_KEY) is None
