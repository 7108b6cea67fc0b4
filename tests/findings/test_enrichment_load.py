"""KEV and EPSS enrichment: loading the files flags findings, scores them and moves their SLA.

The KEV and EPSS files in tests/findings/data are small hand-made samples in the exact published
formats (no real KEV or EPSS file exists in ../shared); they are the only hand-made samples here.
"""

import datetime as dt
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from findings.models import EpssScore, KevEntry
from findings.services.enrichment import enrichment_pull
from hygiene.models import AuditEntry
from tests.factories.findings import FindingFactory

DATA = Path(__file__).parent / "data"
pytestmark = pytest.mark.django_db


def test_loading_kev_flags_findings_of_listed_cves_and_gives_them_the_kev_window_not_a_past_cisa_date(
    settings,
):
    settings.HYGIENE_KEV_WINDOW_DAYS = 14
    log4shell = FindingFactory(rule_id="CVE-2021-44228", severity="medium", asset__environment="development")
    other = FindingFactory(rule_id="CVE-2020-8203", severity="high")
    before = other.sla_due

    call_command("load_kev", str(DATA / "kev_sample.json"), stdout=io.StringIO())

    log4shell.refresh_from_db()
    other.refresh_from_db()
    assert log4shell.kev is True
    assert log4shell.kev_due == dt.date(2021, 12, 24)
    # CISA's date is long past; the finding is due 14 days after it was first seen.
    assert log4shell.sla_due == log4shell.first_seen.date() + dt.timedelta(days=14)
    assert other.kev is False
    assert other.sla_due == before
    assert KevEntry.objects.count() == 3
    assert KevEntry.objects.get(cve_id="CVE-2021-44228").known_ransomware


def test_a_cve_leaving_the_catalogue_loses_its_flag_and_gets_its_severity_sla_back(tmp_path):
    finding = FindingFactory(rule_id="CVE-2023-4863", severity="high")
    call_command("load_kev", str(DATA / "kev_sample.json"), stdout=io.StringIO())
    smaller = json.loads((DATA / "kev_sample.json").read_text())
    smaller["vulnerabilities"] = [v for v in smaller["vulnerabilities"] if v["cveID"] != "CVE-2023-4863"]
    (tmp_path / "kev.json").write_text(json.dumps(smaller))

    call_command("load_kev", str(tmp_path / "kev.json"), stdout=io.StringIO())

    finding.refresh_from_db()
    assert finding.kev is False
    assert finding.kev_due is None
    assert finding.sla_due == timezone.localdate(finding.first_seen) + dt.timedelta(days=30)
    assert not KevEntry.objects.filter(cve_id="CVE-2023-4863").exists()


def test_loading_the_same_kev_file_again_changes_no_finding():
    FindingFactory(rule_id="CVE-2021-44228", severity="critical")
    call_command("load_kev", str(DATA / "kev_sample.json"), stdout=io.StringIO())
    out = io.StringIO()

    call_command("load_kev", str(DATA / "kev_sample.json"), stdout=out)

    assert json.loads(out.getvalue()) == {"entries": 3, "findings_updated": 0}


def test_loading_epss_scores_findings_and_clears_scores_that_disappear(tmp_path):
    log4shell = FindingFactory(rule_id="CVE-2021-44228")
    unscored = FindingFactory(rule_id="GHSA-jfh8-c2jp-5v3q")
    call_command("load_epss", str(DATA / "epss_sample.csv.gz"), stdout=io.StringIO())
    log4shell.refresh_from_db()
    assert log4shell.epss == pytest.approx(0.97565)
    assert log4shell.epss_percentile == pytest.approx(0.99995)
    assert EpssScore.objects.get(cve_id="CVE-2021-44228").scored_on == dt.date(2024, 1, 10)
    (tmp_path / "epss.csv").write_text("#model_version:v2023.03.01,score_date:2024-01-11T00:00:00+0000\n"
                                       "cve,epss,percentile\nCVE-1999-0001,0.01,0.5\n")  # fmt: skip

    call_command("load_epss", str(tmp_path / "epss.csv"), stdout=io.StringIO())

    log4shell.refresh_from_db()
    unscored.refresh_from_db()
    assert log4shell.epss is None
    assert unscored.epss is None
    assert EpssScore.objects.count() == 1


def test_a_broken_enrichment_file_fails_the_command_and_keeps_what_was_loaded(tmp_path):
    finding = FindingFactory(rule_id="CVE-2021-44228")
    call_command("load_epss", str(DATA / "epss_sample.csv"), stdout=io.StringIO())
    (tmp_path / "broken.csv").write_text("cve,epss,percentile\nCVE-2021-44228,0.5,0.5\nCVE-2021-1,x,y\n")

    with pytest.raises(CommandError, match="line 4: 'CVE-2021-1' is not a CVE id"):
        call_command("load_epss", str(tmp_path / "broken.csv"), stdout=io.StringIO())

    finding.refresh_from_db()
    assert finding.epss == pytest.approx(0.97565)
    assert EpssScore.objects.count() == 5


def test_each_load_is_recorded_in_the_audit_log():
    call_command("load_kev", str(DATA / "kev_sample.json"), stdout=io.StringIO())

    entry = AuditEntry.objects.get(action="enrichment_load", object_type="findings_keventry")
    assert entry.after["entries"] == 3
    assert entry.after["origin"].endswith("kev_sample.json")


def test_the_periodic_pull_loads_the_configured_kev_url_through_the_safe_fetcher(settings, serve_bytes):
    base = serve_bytes((DATA / "kev_sample.json").read_bytes())
    settings.HYGIENE_KEV_URL = f"{base}/kev.json"
    settings.HYGIENE_SCAN_URL_ALLOWED_HOSTS = ["127.0.0.1"]
    finding = FindingFactory(rule_id="CVE-2022-22965", severity="critical")
    settings.HYGIENE_SCAN_URL_ALLOW_PRIVATE = []
    with pytest.raises(Exception, match="private, loopback"):
        enrichment_pull(kind="kev")
    settings.HYGIENE_SCAN_URL_ALLOW_PRIVATE = ["127.0.0.1"]

    result = enrichment_pull(kind="kev")

    finding.refresh_from_db()
    assert result.entries == 3
    assert finding.kev_due == dt.date(2022, 4, 25)


def test_no_url_configured_means_no_pull(settings):
    settings.HYGIENE_EPSS_URL = ""

    assert enrichment_pull(kind="epss") is None
