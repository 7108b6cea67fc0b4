"""Importing an ML-BOM through the page: the counts show, and the model it describes can be opened."""

import pytest
from playwright.sync_api import expect

from tests.browser import sign_in
from tests.factories.hygiene import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_uploading_an_ml_bom_creates_its_model_and_dataset_with_lineage(page, owner, team_a, scans_dir):
    sign_in(page, owner.username, PASSWORD)
    page.goto("/assets/import/")
    page.get_by_label("CycloneDX JSON file").set_input_files(
        str(scans_dir / "cyclonedx" / "valid-machine-learning-1.6.json")
    )
    page.get_by_label("Team").select_option(label=team_a.name)
    page.get_by_role("button", name="Import BOM").click()

    result = page.get_by_role("region", name=f"Imported into {team_a.name}")
    expect(result).to_be_visible()
    expect(result.locator(".card", has_text="Assets created")).to_contain_text("2")
    expect(result.locator(".card", has_text="Lineage links added")).to_contain_text("1")

    result.get_by_role("link").filter(has_text="Training Data").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Training Data")
    expect(page.get_by_text("Trained on", exact=False).first).to_be_visible()
