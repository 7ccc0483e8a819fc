"""A PostgreSQL server of the test's own, to stop and restart at will: `initdb` into a temporary folder, a free
port on 127.0.0.1 and the socket in that folder. The machine's shared server (other people's databases, CI) is never
touched.

PostgreSQL refuses to run as root: as root the server's commands run as the `postgres` user (`runuser`), which
owns the folder; as anyone else they run as that user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SERVER_USER = "postgres"  # the superuser's name inside the cluster, whoever runs it


def postgres_bin_dir() -> Path | None:
    """The newest installed server's programs (Debian keeps them under /usr/lib/postgresql/<version>/bin), or
    the ones on PATH."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parts[-3]), reverse=True
    )
    if versions:
        return versions[0].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivatePostgres:
    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="sms-private-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self._as_server_user: list[str] = []
        if os.geteuid() == 0:
            account = pwd.getpwnam(SERVER_USER)
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._as_server_user = ["runuser", "-u", SERVER_USER, "--"]
        self._run(
            "initdb", "-D", str(self.data), "-U", SERVER_USER, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"
        )

    def _run(self, program: str, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            [*self._as_server_user, str(self.bin_dir / program), *args],
            check=True,
            capture_output=True,
            timeout=timeout,
            cwd=self.root,
        )

    def _pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", *args, timeout=90)

    def start(self) -> None:
        # Durability settings off: the test restarts the server cleanly, it never pulls the plug on the machine.
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._pg_ctl("-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast`: every session is ended at once (transactions rolled back), as a restart for maintenance does."""
        self._pg_ctl("-m", mode, "stop")

    def restart(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "restart")

    def create_database(self, name: str) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", SERVER_USER, name)

    def url(self, name: str) -> str:
        return f"postgres://{SERVER_USER}@127.0.0.1:{self.port}/{name}"

    def server_log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-3000:]
        return ""

    def remove(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._pg_ctl("-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
