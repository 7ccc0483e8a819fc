"""Erasures survive a real backup restore: the ledger lives in its own database, which the restore does not reach.

Each test runs the project's own `manage.py` (and short scripts) in subprocesses against databases of its own: a
backup of the main database is taken before an erasure, the erasure runs, the backup is restored, and then the
system check warns, `replay_erasures` erases the person again and says how many it found, and the check is quiet.
On SQLite the backup is the SQLite backup API; on PostgreSQL it is pg_dump / pg_restore.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
EMAIL = "alice.restore@example.ph"
PHONE = "+639171112222"

SEED = f"""
from datetime import timedelta
from django.utils import timezone
from accounts.models import LoginRecord, Organization, User
from messaging.models import Message
org = Organization.objects.create(name="Alpha Retail", slug="alpha")
user = User.objects.create_user(email="{EMAIL}", password="x" * 12, full_name="Alice Restore", phone_number="{PHONE}")
LoginRecord.objects.create(user=user, email_attempted=user.email, succeeded=True, ip_address="203.0.113.7")
Message.objects.create(organization=org, recipient="{PHONE}", body="Hi Alice", network="smart", sender_name="ALPHA",
                       encoding="gsm7", segments=1, channel="api", status="delivered")
"""

ERASE = f"""
from datetime import timedelta
from accounts.models import User
from privacy.data.erasure import erasure_job_create
from privacy.data.erasure_run import erasure_job_run
user = User.objects.get(email="{EMAIL}")
job = erasure_job_create(subject_kind="user", user=user, phone_number="{PHONE}")
for _ in range(2):
    job = erasure_job_run(job_id=job.pk, now=job.erase_after + timedelta(minutes=10))
print("JOB", job.status)
"""

COUNT = f"""
from accounts.models import User
from messaging.models import Message
from portal.crypto import phone_lookup_hash
print("USERS", User.objects.filter(email="{EMAIL}").count())
print("MESSAGES", Message._base_manager.filter(recipient_hash=phone_lookup_hash("{PHONE}")).count())
"""


def _env(main_url: str, ledger_url: str, tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST", "DJANGO"))}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings.test",
        DATABASE_URL=main_url,
        ERASURE_LEDGER_URL=ledger_url,
        PRIVATE_STORAGE_ROOT=str(tmp_path / "private"),
    )
    return env


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    return done.stdout + done.stderr


def _manage(env: dict[str, str], *args: str) -> str:
    return _run(env, "manage.py", *args)


def _script(env: dict[str, str], code: str) -> str:
    output = _run(env, "-c", "import django; django.setup()\n" + code)
    assert "Traceback" not in output, output
    return output


def _counts(env: dict[str, str]) -> tuple[int, int]:
    lines = dict(line.split() for line in _script(env, COUNT).splitlines() if line.startswith(("USERS", "MESSAGES")))
    return int(lines["USERS"]), int(lines["MESSAGES"])


def _restore_scenario(env: dict[str, str], *, backup, restore) -> None:
    for database in ("default", "erasure_ledger"):
        output = _manage(env, "migrate", "--database", database, "--noinput", "-v", "0")
        assert "Traceback" not in output, output
    _script(env, SEED)
    backup()
    assert "JOB done" in _script(env, ERASE)
    assert _counts(env) == (0, 0)
    assert "privacy.W003" not in _manage(env, "check")

    restore()  # last night's backup: the person is back in the main database, the ledger is untouched
    assert _counts(env) == (1, 1)
    check = _manage(env, "check")
    assert "privacy.W003" in check and "erased people are in the database again" in check, check

    replay = _manage(env, "replay_erasures")
    assert "People found again and erased: 2" in replay, replay  # by the account's address and by the number
    assert _counts(env) == (0, 0)
    assert "privacy.W003" not in _manage(env, "check")
    assert "Nothing to re-apply" in _manage(env, "replay_erasures")


def _sqlite_copy(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def test_an_erasure_survives_a_restore_of_the_main_sqlite_database(tmp_path):
    main, ledger, backup = tmp_path / "main.sqlite3", tmp_path / "ledger.sqlite3", tmp_path / "backup.sqlite3"
    env = _env(f"sqlite:///{main}", f"sqlite:///{ledger}", tmp_path)
    _restore_scenario(
        env,
        backup=lambda: _sqlite_copy(main, backup),
        restore=lambda: _sqlite_copy(backup, main),
    )


def _server() -> dict:
    database = settings.DATABASES["default"]
    return {
        "host": database.get("HOST") or "127.0.0.1",
        "port": str(database.get("PORT") or 5432),
        "user": database.get("USER") or "postgres",
        "password": database.get("PASSWORD") or "",
    }


def _url(server: dict, name: str) -> str:
    auth = server["user"] + (f":{server['password']}" if server["password"] else "")
    return f"postgres://{auth}@{server['host']}:{server['port']}/{name}"


@pytest.mark.postgres
def test_an_erasure_survives_pg_dump_and_pg_restore_of_the_main_database(tmp_path):
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump and pg_restore are needed")
    server = _server()
    suffix = uuid.uuid4().hex[:8]
    main, ledger = f"privacy_restore_main_{suffix}", f"privacy_restore_ledger_{suffix}"
    admin = psycopg.connect(_url(server, "postgres"), autocommit=True)
    for name in (main, ledger):
        admin.execute(f'CREATE DATABASE "{name}"')
    dump = tmp_path / "main.dump"
    pg_env = {**os.environ, "PGPASSWORD": server["password"]}
    connection = ["-h", server["host"], "-p", server["port"], "-U", server["user"]]
    try:
        env = _env(_url(server, main), _url(server, ledger), tmp_path)
        _restore_scenario(
            env,
            backup=lambda: subprocess.run(
                ["pg_dump", *connection, "-Fc", "-f", str(dump), main], env=pg_env, check=True, timeout=120
            ),
            restore=lambda: subprocess.run(
                ["pg_restore", *connection, "--clean", "--if-exists", "-d", main, str(dump)],
                env=pg_env,
                check=True,
                timeout=120,
            ),
        )
    finally:
        for name in (main, ledger):
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
