"""`make run`: the web server, the task worker, the scheduler, the SMS provider and PayMongo simulators, together.

The worker is `manage.py task_worker` on every queue: `db_worker` on the database backend (the default), `rqworker`
with django-tasks-rq's job class when TASK_BACKEND=rq. Ctrl-C (or SIGTERM) stops all five. When one of them dies,
the others are stopped too, so a broken worker is noticed instead of leaving a site that accepts messages nobody
sends. It lives in messaging because it starts the provider simulator and points its receipts at the site.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection
from django.urls import reverse

from messaging.services.providers import provider_simulator_connect


class Command(BaseCommand):
    help = "Run the site on 127.0.0.1:8000 with the task worker, the scheduler and the SMS and payment simulators."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--no-simulator", action="store_true")

    def handle(self, *args, addr: str, no_simulator: bool, **options):
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        simulator_port = settings.PROVIDER_SIMULATOR_URL.rsplit(":", 1)[-1].strip("/")
        commands = {
            "web": [*manage, "runserver", addr, "--noreload"],
            "worker": [*manage, "task_worker", "--interval", "0.2"],
            "scheduler": [*manage, "run_scheduler"],
        }
        if not no_simulator:
            commands["simulator"] = [
                *manage,
                "run_provider_simulator",
                "--port",
                simulator_port,
            ]
            # PayMongo's stand-in: checkouts bought on the billing page are paid there and its webhooks come here.
            commands["payments"] = [
                *manage,
                "run_payment_simulator",
                "--webhook-url",
                f"http://{addr}{reverse('billing:payment_webhook', args=[settings.BILLING_CHECKOUT_PROVIDER])}",
            ]
        processes: dict[str, subprocess.Popen] = {}
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for name, command in commands.items():
            processes[name] = subprocess.Popen(command, env=env)  # noqa: S603
            self.stdout.write(f"started {name} (pid {processes[name].pid})")
        if "simulator" in processes:
            # In the background: the others are watched meanwhile, however long the simulator takes to listen.
            threading.Thread(
                target=self._connect_simulator, args=(processes["simulator"],), name="simulator-connect", daemon=True
            ).start()
        self.stdout.write(self.style.SUCCESS(f"Site: http://{addr}/  (Ctrl-C stops everything)"))

        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, process in processes.items():
                    if process.poll() is not None:
                        self.stderr.write(f"{name} exited with {process.returncode}; stopping the others")
                        stopping = True
                        break
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGINT)
            deadline = time.monotonic() + 10
            for process in processes.values():
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
            self.stdout.write("stopped")

    def _connect_simulator(self, simulator: subprocess.Popen) -> None:
        """The simulator keeps its settings in memory: once it listens, point its delivery receipts at us."""
        try:
            self._wait_and_connect_simulator(simulator)
        finally:
            connection.close()  # this thread's own database connection

    def _wait_and_connect_simulator(self, simulator: subprocess.Popen) -> None:
        address = urlsplit(settings.PROVIDER_SIMULATOR_URL)
        # Up to 5 minutes while it is alive: four Django processes starting at once on a busy machine take a while.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if simulator.poll() is not None:
                return  # the main loop reports it and stops everything
            try:
                socket.create_connection((address.hostname, address.port or 80), timeout=0.2).close()
            except OSError:
                time.sleep(0.2)
                continue
            if provider_simulator_connect(simulator_url=settings.PROVIDER_SIMULATOR_URL):
                self.stdout.write("simulator: delivery receipts go to this site")
                return
            time.sleep(0.2)
        self.stderr.write(
            "simulator: not reachable; delivery receipts cannot reach this site, statuses come from polling (slower)"
        )
