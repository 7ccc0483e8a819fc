"""The messaging tests' provider simulator, for the scale tests that dispatch."""

from tests.messaging.conftest import _provider_simulator_server, provider_simulator  # noqa: F401 (fixtures)
