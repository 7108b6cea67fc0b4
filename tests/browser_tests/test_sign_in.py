"""Signing in through a real browser: each role sees its navigation; errors and lockout are shown."""

import pytest
from playwright.sync_api import expect

from tests.browser import sign_in
from tests.factories.hygiene import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.mark.parametrize(
    ("persona", "visible", "hidden"),
    [
        ("lead", ["Inventory", "Findings", "Audit log", "Exports", "Audits"], []),
        ("auditor", ["Inventory", "Audit log", "Exports", "Audits"], []),
        ("teammate", ["Inventory", "Findings", "Teams", "Exports"], ["Audit log", "Audits"]),
    ],
)
def test_each_role_sees_its_navigation(page, request, persona, visible, hidden):
    user = request.getfixturevalue(persona)
    sign_in(page, user.username, PASSWORD)
    nav = page.get_by_role("navigation", name="Main")
    for label in visible:
        expect(nav.get_by_role("link", name=label)).to_be_visible()
    for label in hidden:
        expect(nav.get_by_role("link", name=label)).to_have_count(0)


def test_wrong_password_shows_an_error(page, teammate):
    sign_in(page, teammate.username, "not the password")
    expect(page.get_by_role("alert")).to_contain_text("enter a correct username and password")
    expect(page.get_by_role("heading", name="Sign in to hygiene")).to_be_visible()


def test_repeated_failures_lock_the_account(page, teammate):
    for _ in range(5):
        sign_in(page, teammate.username, "not the password")
    sign_in(page, teammate.username, PASSWORD)
    expect(page.get_by_role("heading", name="Too many failed sign-ins")).to_be_visible()
