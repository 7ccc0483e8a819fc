"""Production settings refuse weak or missing secrets; each case imports them in a fresh interpreter."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
STRONG_SECRET = "kR3v9-Qx_7mZpL2aWcT8yHn4Bf6Gd1Js0Ue5Vo-Ki9Xr_2Ml7Pq3Sz8Nw4Ya6Tb1"
STRONG_PEPPER = "Hp4_Zq8Lw2Nc6Rv0Ty3Kb7Mx1Gf5Js9-Dh2Pa6Uo8Wi4Ye0Ql3Cn7Vb1Rk5Ts9Xm"
VALID = {
    "SECRET_KEY": STRONG_SECRET,
    "ALLOWED_HOSTS": "sms.example.com",
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "HASHING_PEPPER": STRONG_PEPPER,
}


def import_production(**overrides) -> subprocess.CompletedProcess:
    # A clean environment: only what production reads from these tests (an empty value counts as not set, and keeps a
    # developer's .env from filling it in); SQLite, so the erasure ledger needs no URL of its own.
    environment = {"PATH": os.environ.get("PATH", ""), "DATABASE_URL": "sqlite:///:memory:", **VALID, **overrides}
    code = (
        "import portal.settings.production as s; "
        "print(s.FIELD_ENCRYPTION_KEYS == [s.env('FIELD_ENCRYPTION_KEYS')], "
        "s.HASHING_PEPPER == s.env('HASHING_PEPPER'))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_production_starts_with_strong_secrets_set_explicitly():
    result = import_production()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True True"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SECRET_KEY": "x"}, "SECRET_KEY is too weak"),
        ({"SECRET_KEY": "s3cr3t-" * 7}, None),  # 49 characters
        ({"SECRET_KEY": "ab" * 40}, "at least 5 of them different"),
        ({"SECRET_KEY": ""}, "Set SECRET_KEY"),
        ({"FIELD_ENCRYPTION_KEYS": ""}, "Set FIELD_ENCRYPTION_KEYS"),
        ({"FIELD_ENCRYPTION_KEYS": "not-a-fernet-key"}, "not a Fernet key"),
        ({"HASHING_PEPPER": ""}, "Set HASHING_PEPPER"),
        ({"HASHING_PEPPER": "pepper"}, "HASHING_PEPPER is too weak"),
    ],
)
def test_production_refuses_weak_or_missing_secrets(overrides, message):
    result = import_production(**overrides)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert (message or "SECRET_KEY is too weak") in result.stderr
