"""Integration (Dotmailer account) management: create, list, show, update, delete, check.

The password is encrypted with the :class:`~dotsync.secret.SecretBox` before it reaches the database and is
never part of any returned view.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from dotsync.db.models import AddressBook, Integration
from dotsync.errors import BadInputError, NotFoundError
from dotsync.secret import SecretBox
from dotsync.urls import transport_problem

DEFAULT_API_URL = "https://r1-api.dotdigital.com"
MIN_PASSWORD_LENGTH = 8


def validate_api_url(url: str) -> str:
    """Accept any https URL, or http to a loopback address (the sandbox); return it without a trailing slash."""
    parts = urlsplit(url.strip())
    problem = transport_problem(parts)
    if problem:
        raise BadInputError(f"invalid --api-url {url!r}: {problem}")
    if parts.username or parts.password:
        raise BadInputError("invalid --api-url: credentials do not belong in the URL")
    return url.strip().rstrip("/")


def validate_password(password: str) -> str:
    if not password or not password.strip():
        raise BadInputError("the password is empty")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadInputError(
            f"the password is too short (Dotmailer API passwords have at least {MIN_PASSWORD_LENGTH} characters)"
        )
    return password


@dataclass(frozen=True)
class CheckResult:
    """What a successful credentials check learned from ``account-info``."""

    account_name: str | None
    main_email: str | None
    api_endpoint: str | None
    calls_remaining: int | None


Checker = Callable[[str, str, str], CheckResult]
"""(username, password, api_url) -> CheckResult; raises on bad credentials."""


def get_integration(session: Session, name: str | None) -> Integration:
    """Find by name; with no name, the only integration (an error if there are none or several)."""
    if name is not None:
        found = session.scalar(select(Integration).where(Integration.name == name))
        if found is None:
            raise NotFoundError(f"no integration named {name!r} (see `dotsync integration list`)")
        return found
    all_ = list(session.scalars(select(Integration).order_by(Integration.id)))
    if not all_:
        raise NotFoundError("no integration exists yet; create one with `dotsync integration create`")
    if len(all_) > 1:
        names = ", ".join(i.name for i in all_)
        raise BadInputError(f"several integrations exist ({names}); choose one with --integration")
    return all_[0]


def create_integration(
    session: Session,
    box: SecretBox,
    *,
    name: str,
    username: str,
    password: str,
    api_url: str = DEFAULT_API_URL,
    owner: str | None = None,
    check: Checker | None = None,
) -> Integration:
    name = name.strip()
    if not name:
        raise BadInputError("the integration name is empty")
    if session.scalar(select(Integration.id).where(Integration.name == name)) is not None:
        raise BadInputError(f"an integration named {name!r} already exists")
    if not username.strip():
        raise BadInputError("the username is empty")
    api_url = validate_api_url(api_url)
    validate_password(password)
    endpoint = None
    if check is not None:
        endpoint = check(username, password, api_url).api_endpoint
    integration = Integration(
        name=name,
        username=username.strip(),
        password_encrypted=box.encrypt(password),
        api_url=api_url,
        api_endpoint=endpoint,
        owner=owner,
        is_active=True,
    )
    session.add(integration)
    session.flush()
    return integration


def update_integration(
    session: Session,
    box: SecretBox,
    name: str,
    *,
    new_name: str | None = None,
    username: str | None = None,
    password: str | None = None,
    api_url: str | None = None,
    owner: str | None = None,
    active: bool | None = None,
    check: Checker | None = None,
) -> Integration:
    integration = get_integration(session, name)
    if new_name is not None and new_name != integration.name:
        if session.scalar(select(Integration.id).where(Integration.name == new_name)) is not None:
            raise BadInputError(f"an integration named {new_name!r} already exists")
        integration.name = new_name
    if username is not None:
        integration.username = username
    if api_url is not None:
        integration.api_url = validate_api_url(api_url)
        integration.api_endpoint = None  # rediscovered on next use
    if password is not None:
        integration.password_encrypted = box.encrypt(validate_password(password))
    if owner is not None:
        integration.owner = owner
    if active is not None:
        integration.is_active = active
    if check is not None and (password is not None or username is not None or api_url is not None):
        result = check(integration.username, box.decrypt(integration.password_encrypted), integration.api_url)
        integration.api_endpoint = result.api_endpoint
    session.flush()
    return integration


def delete_integration(session: Session, name: str) -> None:
    integration = get_integration(session, name)
    session.delete(integration)
    session.flush()


@dataclass(frozen=True)
class IntegrationView:
    """An integration as ``integration list|show`` show it. Never its password."""

    name: str
    username: str
    api_url: str
    api_endpoint: str | None
    owner: str | None
    active: bool
    address_books: int
    connected_books: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CredentialsView:
    """``integration check``: what Dotmailer said of a stored integration's credentials."""

    integration: str
    account: str | None
    main_email: str | None
    api_endpoint: str | None
    calls_remaining: int | None


def _view(session: Session, integration: Integration) -> IntegrationView:
    books = session.scalars(select(AddressBook).where(AddressBook.integration_id == integration.id)).all()
    return IntegrationView(
        name=integration.name,
        username=integration.username,
        api_url=integration.api_url,
        api_endpoint=integration.api_endpoint,
        owner=integration.owner,
        active=integration.is_active,
        address_books=len(books),
        connected_books=sum(1 for b in books if b.marketing_list_id is not None),
        created_at=integration.created_at,
        updated_at=integration.updated_at,
    )


def show_integration(session: Session, name: str) -> IntegrationView:
    """``integration show``."""
    return _view(session, get_integration(session, name))


def list_integrations(session: Session) -> list[IntegrationView]:
    """``integration list``: every integration, by name."""
    return [
        _view(session, integration)
        for integration in session.scalars(select(Integration).order_by(Integration.name))
    ]


def check_integration(session: Session, box: SecretBox, name: str, **client_kwargs: Any) -> CredentialsView:
    """``integration check``: call ``account-info`` with the stored credentials and keep the endpoint it names;
    refused credentials raise the client's authentication error (exit 3)."""
    integration = get_integration(session, name)
    result = check_credentials(
        integration.username,
        box.decrypt(integration.password_encrypted),
        integration.api_url,
        **client_kwargs,
    )
    integration.api_endpoint = result.api_endpoint
    return CredentialsView(
        integration=name,
        account=result.account_name,
        main_email=result.main_email,
        api_endpoint=result.api_endpoint,
        calls_remaining=result.calls_remaining,
    )


def check_credentials(username: str, password: str, api_url: str, **client_kwargs: Any) -> CheckResult:
    """Call ``account-info``; raises the client's authentication error (exit 3) on bad credentials."""
    from dotsync.dotmailer.client import DotmailerClient

    with DotmailerClient(username, password, api_url, **client_kwargs) as client:
        info = client.connect()
        return CheckResult(
            account_name=info.name,
            main_email=info.main_email,
            api_endpoint=client.endpoint,
            calls_remaining=info.calls_remaining,
        )
