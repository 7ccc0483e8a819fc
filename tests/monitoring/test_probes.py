"""/healthz, /readyz and /metrics: what each answers, and who may read /metrics."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from messaging.models import CircuitState, Message, Provider
from portal import hooks
from portal.queues import DATABASE_BACKEND, task_backends

ROOT = Path(__file__).resolve().parents[2]


def provider(name: str, **fields) -> Provider:
    return Provider.objects.create(
        name=name, adapter="iprog", base_url="http://127.0.0.1:9", sender_name="TEST", priority=10, **fields
    )


def test_healthz_answers_without_the_database(client):
    response = client.get("/healthz")  # no django_db mark: any query would fail the test
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db(databases=["default", "erasure_ledger"])
def test_readyz_is_ready_when_everything_answers(client):
    provider("Primary")
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready" and body["not_ready"] == []
    for name in ("database", "cache", "task_queue", "messaging.queue", "messaging.provider.Primary"):
        assert body["checks"][name]["ok"] is True, name


@pytest.mark.django_db(databases=["default", "erasure_ledger"])
def test_readyz_names_every_provider_circuit_and_fails_only_when_all_are_open(client):
    provider("Primary", circuit_state=CircuitState.OPEN, consecutive_failures=5, last_error="timeout")
    fallback = provider("Fallback")
    body = client.get("/readyz").json()
    assert body["checks"]["messaging.provider.Primary"]["ok"] is True
    assert "circuit open after 5 consecutive failures" in body["checks"]["messaging.provider.Primary"]["detail"]
    Provider.objects.filter(pk=fallback.pk).update(circuit_state=CircuitState.OPEN)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert set(response.json()["not_ready"]) == {"messaging.provider.Primary", "messaging.provider.Fallback"}


@pytest.mark.django_db(databases=["default", "erasure_ledger"])
def test_readyz_fails_when_the_oldest_queued_task_waited_too_long(client):
    provider("Primary")
    old = DBTaskResult.objects.create(
        status=TaskResultStatus.READY,
        args_kwargs={"args": [], "kwargs": {}},
        task_path="messaging.tasks.dispatch_pending",
        queue_name="send",
        backend_name="default",
        run_after=timezone.now() - timedelta(hours=1),
    )
    DBTaskResult.objects.filter(pk=old.pk).update(enqueued_at=timezone.now() - timedelta(hours=1))
    with override_settings(READYZ_MAX_TASK_AGE_SECONDS=600, TASKS=task_backends(DATABASE_BACKEND)):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["not_ready"] == ["task_queue"]
    assert response.json()["checks"]["task_queue"]["detail"].startswith("1 queued; oldest waiting 36")


@pytest.mark.django_db(databases=["default", "erasure_ledger"])
def test_readyz_fails_when_messages_wait_past_the_limit(client, org_a):
    provider("Primary")
    overdue = timezone.now() - timedelta(hours=2)
    Message.objects.create(
        organization=org_a,
        recipient="+639171234567",
        network="globe",
        body="hi",
        sender_name="TEST",
        encoding="GSM7",
        segments=1,
        channel="api",
        next_attempt_at=overdue,
    )
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["not_ready"] == ["messaging.queue"]


@pytest.mark.django_db(databases=["default", "erasure_ledger"])
def test_readyz_reports_an_app_check_that_raises_under_its_name(client, monkeypatch):
    provider("Primary")

    def broken():
        raise RuntimeError("ledger gone")

    monkeypatch.setattr(hooks.readiness_checks, "_answers", [*hooks.readiness_checks._answers, ("x", broken)])
    response = client.get("/readyz")
    assert response.status_code == 503
    (name,) = response.json()["not_ready"]
    assert name.endswith("broken")
    assert "ledger gone" in response.json()["checks"][name]["detail"]


@pytest.mark.django_db(databases=["default", "erasure_ledger"])
def test_readyz_names_the_cache_when_redis_is_down(client):
    provider("Primary")
    down = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}}
    with override_settings(CACHES=down):
        response = client.get("/readyz")
        healthz = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["not_ready"] == ["cache"]
    assert healthz.status_code == 200


def test_the_site_serves_pages_that_need_no_cache_when_redis_is_down(tmp_path):
    """A real process with CACHE_URL on a closed port: the pages that need no cache answer; /readyz says why not."""
    script = """
import django, json
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0, interactive=False)
from django.test import Client
client = Client()
out = {path: client.get(path).status_code for path in ("/healthz", "/", "/accounts/login/", "/privacy/request/")}
ready = client.get("/readyz")
out["readyz"] = ready.status_code
out["not_ready"] = ready.json()["not_ready"]
print(json.dumps(out))
"""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.local",
        "DEBUG": "False",
        "CACHE_URL": "redis://127.0.0.1:9/0",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "ERASURE_LEDGER_URL": f"sqlite:///{tmp_path / 'ledger.sqlite3'}",
        "TASK_BACKEND": "database",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["/healthz"] == 200
    assert out["/"] in (200, 302)
    assert out["/accounts/login/"] == 200
    assert out["/privacy/request/"] == 200
    assert out["readyz"] == 503
    assert "cache" in out["not_ready"]


@pytest.mark.django_db(databases=["default", "erasure_ledger"])
class TestMetrics:
    def test_refused_without_token_or_allowed_address(self, client):
        with override_settings(METRICS_TOKEN="", METRICS_ALLOWED_IPS=[]):
            assert client.get("/metrics").status_code == 403
        with override_settings(METRICS_TOKEN="s3cret", METRICS_ALLOWED_IPS=["10.0.0.0/8"]):
            assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
            assert client.get("/metrics", REMOTE_ADDR="192.168.1.5").status_code == 403
            # A forged X-Forwarded-For is not believed without trusted proxies.
            assert client.get("/metrics", HTTP_X_FORWARDED_FOR="10.1.1.1").status_code == 403

    def test_token_or_allowed_network_reads_the_custom_metrics(self, client, org_a):
        primary = provider("Primary", circuit_state=CircuitState.OPEN)
        Message.objects.create(
            organization=org_a,
            recipient="+639171234567",
            network="globe",
            body="hi",
            sender_name="TEST",
            encoding="GSM7",
            segments=1,
            channel="api",
            status="sent",
            provider=primary,
        )
        with override_settings(METRICS_TOKEN="s3cret", METRICS_ALLOWED_IPS=["10.0.0.0/8"]):
            by_token = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret")
            by_address = client.get("/metrics", REMOTE_ADDR="10.2.3.4")
        assert by_token.status_code == 200 and by_address.status_code == 200
        text = by_token.content.decode()
        assert 'sms_messages{provider="Primary",status="sent"} 1.0' in text
        assert 'sms_provider_circuit_state{provider="Primary",state="open"} 1.0' in text
        assert "sms_queue_depth 0.0" in text
        assert 'sms_dispatch_latency_seconds_bucket{le="+Inf"} 0.0' in text
        assert 'privacy_open_requests{band="overdue",kind=""} 0.0' in text
        assert "django_http_requests_latency_seconds_by_view_method" in text  # API requests by status and latency
        assert "django_http_responses_total_by_status_view_method" in text
