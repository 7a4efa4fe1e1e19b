"""Unit tests for email normalisation: trimming, lower-casing, and the syntax check with its reasons."""

from __future__ import annotations

import pytest

from dotsync.lists.email import email_key, is_valid_email, normalise_email


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ann@example.com", "ann@example.com"),
        ("  Ann.Lee@Example.COM \t", "ann.lee@example.com"),
        ("first+tag@sub.example.co.uk", "first+tag@sub.example.co.uk"),
        ("o'brien@example.ie", "o'brien@example.ie"),
        ("x_y-z@my-domain.example", "x_y-z@my-domain.example"),
        ("müller@exämple.de", "müller@exämple.de"),
        ("a@xn--bcher-kva.example", "a@xn--bcher-kva.example"),
        ("a@b.io", "a@b.io"),
    ],
)
def test_valid_emails_are_trimmed_and_lower_cased(raw: str, expected: str) -> None:
    result = normalise_email(raw)
    assert result.reason is None
    assert result.email == expected
    assert is_valid_email(raw)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "empty email"),
        ("", "empty email"),
        ("   ", "empty email"),
        ("annexample.com", "missing @"),
        ("ann@@example.com", "more than one @"),
        ("a@b@example.com", "more than one @"),
        ("@example.com", "nothing before the @"),
        ("ann@", "nothing after the @"),
        ("ann@localhost", "the domain has no dot"),
        ("ann lee@example.com", "contains spaces or control characters"),
        ("ann\x00@example.com", "contains spaces or control characters"),
        ("ann\x07@example.com", "contains spaces or control characters"),
        (".ann@example.com", "misplaced dot before the @"),
        ("ann.@example.com", "misplaced dot before the @"),
        ("an..n@example.com", "misplaced dot before the @"),
        ("ann@example..com", "misplaced dot in the domain"),
        ("ann@.example.com", "misplaced dot in the domain"),
        ("ann@example.com.", "misplaced dot in the domain"),
        ("ann@-example.com", "starts or ends with a hyphen"),
        ("ann@example.c", "is not a top-level domain"),
        ("ann@10.0.0.1", "is not a top-level domain"),
        ("ann@exa_mple.com", "not allowed in the domain"),
        ("an(n)@example.com", "not allowed before the @"),
        ('"ann"@example.com', "not allowed before the @"),
    ],
)
def test_invalid_emails_come_with_a_reason(raw: object, reason: str) -> None:
    result = normalise_email(raw)
    assert result.email is None
    assert result.reason is not None
    assert reason in result.reason
    assert not is_valid_email(raw)


def test_length_limits() -> None:
    local64 = "a" * 64
    assert normalise_email(f"{local64}@example.com").email == f"{local64}@example.com"
    too_long_local = normalise_email(f"{'a' * 65}@example.com")
    assert too_long_local.email is None
    assert "longer than 64" in (too_long_local.reason or "")

    domain = ".".join(["d" * 60] * 4) + ".com"  # 248 characters
    total_254 = f"{'b' * (254 - len(domain) - 1)}@{domain}"
    assert len(total_254) == 254
    assert normalise_email(total_254).email == total_254
    too_long = normalise_email("c" + total_254)
    assert too_long.email is None
    assert "longer than 254" in (too_long.reason or "")

    long_label = normalise_email(f"a@{'e' * 64}.com")
    assert "longer than 63" in (long_label.reason or "")


def test_the_reason_quotes_the_value_shortened() -> None:
    reason = normalise_email("x" * 300).reason or ""
    assert reason.startswith("invalid email 'xxx")
    assert "..." in reason
    assert len(reason) < 150


def test_non_string_values_are_converted() -> None:
    assert normalise_email(12345).reason is not None


@pytest.mark.parametrize(
    ("sent", "key"),
    [
        ("  Ann.Lee@Example.COM \t", "ann.lee@example.com"),
        ("no-at-sign.example.com", "no-at-sign.example.com"),  # Dotmailer holds it: kept, never refused
        ("", ""),
        (None, ""),
    ],
)
def test_an_address_dotmailer_sent_is_trimmed_and_lower_cased_but_not_checked(
    sent: str | None, key: str
) -> None:
    assert email_key(sent) == key


def test_the_two_differ_only_in_the_check() -> None:
    assert email_key(" Ann@Example.com ") == normalise_email(" Ann@Example.com ").email
    assert normalise_email("no-at-sign.example.com").email is None
