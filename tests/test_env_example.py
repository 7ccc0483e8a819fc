"""`.env.example` documents every variable the settings read: a new setting without a line there fails here."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV_CALL = re.compile(r"""env(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]*)["']""")


def test_every_environment_variable_is_documented():
    read = set()
    for path in (ROOT / "portal" / "settings").glob("*.py"):
        read |= set(ENV_CALL.findall(path.read_text()))
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    assert read, "the pattern no longer finds env() calls in the settings"
    assert read - documented == set()
