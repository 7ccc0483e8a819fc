"""The limit holds across processes: two web servers on one Redis share each key's budget."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
REDIS_DB = 13

CREATE_KEY = """
from accounts.models import Organization
from accounts.services import api_key_create
organization = Organization.objects.create(name="Two servers", slug="two-servers")
_, raw = api_key_create(organization=organization, actor=None, name="limit test")
print(raw)
"""


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(port: int, process) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server on port {port} exited: {process.stdout.read()}")
        try:
            requests.get(f"http://127.0.0.1:{port}/api/v1/schema/", timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.3)
    raise AssertionError(f"the server on port {port} did not start")


@pytest.mark.skipif(not _redis_up(), reason="Redis is not running on 127.0.0.1:6379")
def test_two_server_processes_on_one_redis_share_the_limit(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.local",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CACHE_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "API_RATE_LIMIT": "4/min",
        "TASK_BACKEND": "immediate",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True, timeout=300)
    subprocess.run([sys.executable, "-c", f"import redis; redis.Redis(db={REDIS_DB}).flushdb()"], check=True)
    raw_key = (
        subprocess.run(
            [*manage, "shell", "-c", CREATE_KEY], env=env, cwd=ROOT, check=True, capture_output=True, text=True
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    ports = [_free_port(), _free_port()]
    servers = [
        subprocess.Popen(
            [*manage, "runserver", "--noreload", "--nothreading", f"127.0.0.1:{port}"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for port in ports
    ]
    try:
        for port, server in zip(ports, servers, strict=True):
            _wait_until_up(port, server)
        # A minute boundary in the middle would reset the budget: start early in a minute.
        if time.time() % 60 > 50:
            time.sleep(61 - time.time() % 60)
        headers = {"Authorization": f"Bearer {raw_key}"}
        answers = [
            requests.get(f"http://127.0.0.1:{ports[i % 2]}/api/v1/balance", headers=headers, timeout=30)
            for i in range(6)
        ]
        assert [a.status_code for a in answers] == [200, 200, 200, 200, 429, 429], [a.text for a in answers]
        assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["3", "2", "1", "0", "0", "0"]
        assert answers[4].json()["error"]["code"] == "rate_limited"
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
