"""A person enrols an authenticator app, signs in with it, and removes it with password and code."""

import base64

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.browser import sign_in
from tests.factories.hygiene import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _code(secret_b32: str) -> str:
    """What the authenticator app shows for the key on the page."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    return f"{TOTP(key).token():06d}"


def _next_period(user) -> None:
    """Each code is accepted once; let the test go on within one 30-second period."""
    TOTPDevice.objects.filter(user=user).update(last_t=-1, throttling_failure_count=0)


def test_enrol_sign_in_with_the_code_and_remove_the_second_factor(page, teammate):
    sign_in(page, teammate.username, PASSWORD)
    page.goto("/accounts/mfa/")
    expect(page.locator(".qr svg")).to_be_visible()
    assert not TOTPDevice.objects.filter(user=teammate).exists()  # looking wrote nothing
    secret = page.locator("code").first.inner_text()
    page.get_by_label("Code from your authenticator app").fill(_code(secret))
    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_text("Second factor enabled")).to_be_visible()

    page.context.clear_cookies()  # a new browser session
    _next_period(teammate)
    sign_in(page, teammate.username, PASSWORD)
    page.get_by_label("Code from your authenticator app").fill(_code(secret))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text(f"Welcome, {teammate.username}")).to_be_visible()

    _next_period(teammate)
    page.goto("/accounts/mfa/")
    page.get_by_label("Your password").fill("not my password")
    page.get_by_label("Current code from your authenticator app").fill(_code(secret))
    page.get_by_role("button", name="Remove it").click()
    expect(page.get_by_text("That password is not right")).to_be_visible()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_label("Current code from your authenticator app").fill(_code(secret))
    page.get_by_role("button", name="Remove it").click()
    expect(page.get_by_text("Second factor removed")).to_be_visible()
    assert not TOTPDevice.objects.filter(user=teammate).exists()
