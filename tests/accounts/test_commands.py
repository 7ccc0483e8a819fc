import io
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from accounts.models import APIKey
from accounts.services import api_key_hash


def test_create_api_key_prints_only_the_key(org_a):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", "alpha", "--name", "cron", stdout=out, stderr=err)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    key = APIKey.objects.unscoped().get(name="cron")
    assert api_key_hash(lines[0]) == key.key_hash
    assert lines[0] not in err.getvalue()


def test_create_api_key_unknown_org(db):
    with pytest.raises(CommandError, match="No organization"):
        call_command("create_api_key", "nope", "--name", "x")


def test_production_settings_refuse_to_start_without_secret_key():
    env = {
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "PATH": "/usr/bin:/bin",
        "ALLOWED_HOSTS": "x.example",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr
    env = {**env, "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": ""}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0 and "ALLOWED_HOSTS" in result.stderr
