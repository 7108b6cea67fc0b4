"""``manage.py import_scan``: the operator's synchronous import, one JSON line out."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from assets.models import Asset, AssetKind
from findings.models import ImportJob, JobStatus
from tests.factories.findings import ImageAssetFactory

pytestmark = pytest.mark.django_db


def import_scan(*args):
    out = io.StringIO()
    call_command("import_scan", *[str(arg) for arg in args], stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_an_image_scan_for_a_new_asset_creates_it_as_a_container_image_in_unassigned(scans_dir):
    counts = import_scan(scans_dir / "trivy/scheme_2_many_vulns.json", "--asset", "teamdojo")

    assert counts == {
        "format": "trivy",
        "new": 5,
        "unchanged": 0,
        "reopened": 0,
        "mitigated": 0,
        "findings": 5,
    }
    asset = Asset.objects.get(name="teamdojo")
    assert (asset.kind, asset.team.slug, asset.team.name) == (
        AssetKind.CONTAINER_IMAGE,
        "unassigned",
        "Unassigned",
    )


def test_a_secret_scan_for_a_new_asset_in_a_team_creates_a_repository(scans_dir, team_a):
    import_scan(scans_dir / "gitleaks/gitleaks8_many.json", "--asset", "notebooks", "--team", team_a.slug)

    asset = Asset.objects.get(name="notebooks")
    assert (asset.kind, asset.team) == (AssetKind.REPOSITORY, team_a)


def test_importing_again_reports_what_was_seen_again(scans_dir, team_a):
    asset = ImageAssetFactory(team=team_a, name="dojo")
    import_scan(scans_dir / "trivy/scheme_2_many_vulns.json", "--asset", "dojo")

    counts = import_scan(scans_dir / "trivy/scheme_2_many_vulns.json", "--asset", "dojo", "--format", "trivy")

    assert (counts["new"], counts["unchanged"]) == (0, 5)
    assert asset.findings.count() == 5


def test_a_broken_file_exits_non_zero_with_the_jobs_error(scans_dir, tmp_path):
    broken = tmp_path / "trivy.json"
    broken.write_bytes((scans_dir / "trivy/legacy_many_vulns.json").read_bytes()[:5000])

    with pytest.raises(CommandError, match=r"failed: Trivy JSON: .*line \d+"):
        import_scan(broken, "--asset", "dojo")

    job = ImportJob.objects.get()
    assert job.status == JobStatus.FAILED and not job.asset.findings.exists()


def test_a_missing_file_is_reported_plainly(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        import_scan(tmp_path / "nope.json", "--asset", "dojo")
