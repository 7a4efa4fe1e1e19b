"""The fake API's endpoints: one module per resource, all registered on one :class:`Router` by
``build_router``."""

from __future__ import annotations

from dotsync.sandbox.api import account, books, campaigns, contacts
from dotsync.sandbox.router import Router


def build_router() -> Router:
    """Every supported path. Literal templates come before templates with a parameter in the same place."""
    router = Router()
    for module in (account, books, contacts, campaigns):
        module.register(router)
    return router
