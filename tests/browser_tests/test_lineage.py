"""A champion registers a dataset and a model, links them, and sees the model inherit the level."""

import pytest
from playwright.sync_api import expect

from tests.browser import sign_in
from tests.factories.hygiene import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def add_asset(page, name, kind, level):
    page.goto("/assets/new/")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Kind").select_option(label=kind)
    page.get_by_label("Classification").select_option(label=level)
    page.get_by_role("button", name="Add asset").click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()


def test_linking_a_model_to_its_training_data_shows_the_inherited_level(page, owner):
    sign_in(page, owner.username, PASSWORD)
    add_asset(page, "patient-notes", "Dataset", "Restricted (rank 40)")
    add_asset(page, "triage-model", "Model", "Internal (rank 20)")

    page.get_by_label("Relation").select_option(label="This asset was trained on …")
    page.get_by_label("Other asset").fill("patient-notes")
    page.get_by_role("button", name="Add link").click()

    expect(page.get_by_role("status")).to_contain_text("Recorded: triage-model was trained on patient-notes.")
    effective = page.locator("#effective-classification")
    expect(effective).to_contain_text("Restricted")
    expect(effective).to_contain_text("inherited from patient-notes")
    # plotly.js (4.8 MB) is first fetched on this page now, which takes a while on a loaded machine.
    expect(page.locator("#lineage-graph .main-svg").first).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Weaker handling than the data")).to_be_visible()

    effective.get_by_role("link", name="patient-notes").click()
    expect(page.get_by_role("heading", name="patient-notes", level=1)).to_be_visible()
    expect(page.get_by_text("triage-model was trained on patient-notes")).to_be_visible()
