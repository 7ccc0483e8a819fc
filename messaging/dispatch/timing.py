"""When a message is tried again, and until when it may be tried at all."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.conf import settings

from messaging.models import Message


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter: base * 2^(attempts-1), capped, times a random factor in [0.5, 1]."""
    delay = min(settings.SMS_RETRY_MAX_SECONDS, settings.SMS_RETRY_BASE_SECONDS * (2 ** max(0, attempts - 1)))
    return timedelta(seconds=delay * random.uniform(0.5, 1.0))


def send_deadline(message: Message) -> datetime:
    """Past this moment the message is failed and refunded instead of tried again."""
    return (message.send_at or message.created_at) + timedelta(seconds=settings.SMS_SEND_DEADLINE_SECONDS)
