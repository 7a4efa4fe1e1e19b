"""The e2e tests reuse the import fixtures (clock, sandbox, account, sandbox client)."""

from tests.sync.conftest import account, clock, fake_sleep, integration_id, sandbox, sandbox_client

__all__ = ["account", "clock", "fake_sleep", "integration_id", "sandbox", "sandbox_client"]
