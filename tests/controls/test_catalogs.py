"""Loading framework catalogs: OSCAL JSON and XML, ATLAS YAML, the frameworks in code; bad files refused
with a clear message and nothing written."""

import json

import pytest
from django.core.management import CommandError, call_command

from controls.catalogs import CatalogError
from controls.models import Framework, Requirement
from controls.services.catalogs import builtin_catalogs_load, catalog_load
from hygiene.models import AuditEntry

pytestmark = pytest.mark.django_db


def _count_controls(nodes):
    return sum(1 + _count_controls(node.get("controls", [])) for node in nodes)


def test_sp_800_53_loads_every_control_and_enhancement_of_the_catalog(frameworks_dir):
    path = frameworks_dir / "oscal" / "NIST_SP-800-53_rev5_catalog-min.json"
    catalog = json.loads(path.read_bytes())["catalog"]
    expected = sum(_count_controls(group.get("controls", [])) for group in catalog["groups"])

    framework = catalog_load(path=path)

    assert framework.slug == "nist-sp-800-53-rev5"
    assert framework.version == "5.0.1"
    controls = Requirement.objects.filter(framework=framework, is_group=False)
    assert controls.count() == expected == 1189
    assert Requirement.objects.filter(framework=framework, is_group=True).count() == len(catalog["groups"])
    enhancement = Requirement.objects.get(framework=framework, identifier="ac-2.1")
    assert enhancement.label == "AC-2(1)"
    assert enhancement.parent.identifier == "ac-2"
    assert enhancement.parent.parent.identifier == "ac"
    assert Requirement.objects.filter(framework=framework, withdrawn=True).exists()


def test_csf_2_loads_from_oscal_xml(frameworks_dir):
    framework = catalog_load(path=frameworks_dir / "oscal" / "NIST_CSF_v2.0_catalog.xml")
    assert framework.slug == "nist-csf-2"
    assert framework.name == "NIST Cybersecurity Framework 2.0"
    functions = Requirement.objects.filter(framework=framework, parent__isnull=True)
    assert set(functions.values_list("identifier", flat=True)) == {"GV", "ID", "PR", "DE", "RS", "RC"}
    subcategory = Requirement.objects.get(framework=framework, identifier="PR.AA-03")
    assert subcategory.parent.identifier == "PR.AA"
    assert "authenticated" in subcategory.description
    assert Requirement.objects.filter(framework=framework, is_group=False).count() == 219


def test_reloading_a_catalog_updates_in_place_and_keeps_mappings(frameworks_dir):
    from tests.factories.controls import ControlFactory

    path = frameworks_dir / "oscal" / "NIST_CSF_v2.0_catalog.xml"
    framework = catalog_load(path=path)
    requirement = Requirement.objects.get(framework=framework, identifier="GV.OC-01")
    control = ControlFactory()
    control.mappings.create(requirement=requirement)
    Requirement.objects.filter(pk=requirement.pk).update(title="edited by hand")

    again = catalog_load(path=path)

    assert again.pk == framework.pk
    requirement.refresh_from_db()
    assert requirement.title == "GV.OC-01"
    assert control.mappings.get().requirement_id == requirement.pk
    assert Requirement.objects.filter(framework=framework).count() == 225
    assert AuditEntry.objects.filter(action="catalog_load", object_id=str(framework.pk)).count() == 2


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE catalog [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<catalog xmlns="http://csrc.nist.gov/ns/oscal/1.0"><metadata><title>&xxe;</title></metadata>
<group id="g"><title>G</title></group></catalog>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<catalog xmlns="http://csrc.nist.gov/ns/oscal/1.0"><metadata><title>&lol3;</title></metadata></catalog>"""


@pytest.mark.parametrize("content", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_an_xml_entity_attack_is_refused_and_nothing_is_written(tmp_path, content):
    path = tmp_path / "catalog.xml"
    path.write_bytes(content)
    with pytest.raises(CatalogError, match="declares a DTD or entities"):
        catalog_load(path=path)
    assert not Framework.objects.exists()
    assert not Requirement.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"catalog": {"metadata": {"title": "X"}, "groups": [{"id": "a", "title": "A"', "not valid JSON"),
        (b'{"profile": {"metadata": {"title": "X"}}}', "no top-level “catalog” object"),
        (b"<catalog><metadata><title>X", "not well-formed XML"),
        (b"<html><body>hello</body></html>", "not an OSCAL catalog: its root element is <html>"),
        (b"name,title\nac-1,Policy\n", "neither JSON nor XML"),
        (b'{"catalog": {"metadata": {"title": "X"}, "groups": [{"id": "a"}]}}', "has no id or title"),
    ],
    ids=["truncated-json", "a-profile", "truncated-xml", "html", "csv", "group-without-title"],
)
def test_a_file_that_is_not_an_oscal_catalog_is_refused_with_a_clear_message(tmp_path, content, message):
    path = tmp_path / "catalog.json"
    path.write_bytes(content)
    with pytest.raises(CatalogError, match=message):
        catalog_load(path=path)
    assert not Requirement.objects.exists()


def test_a_truncated_real_catalog_writes_nothing(tmp_path, frameworks_dir):
    data = (frameworks_dir / "oscal" / "NIST_SP-800-53_rev5_catalog-min.json").read_bytes()
    path = tmp_path / "cut.json"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CatalogError, match="truncated"):
        catalog_load(path=path)
    assert not Framework.objects.exists()


def test_load_catalog_command_reports_the_problem(tmp_path):
    path = tmp_path / "bad.xml"
    path.write_bytes(XXE)
    with pytest.raises(CommandError, match="XXE"):
        call_command("load_catalog", str(path))


def test_load_catalog_command_loads_any_other_oscal_catalog(tmp_path, capsys):
    catalog = {
        "catalog": {
            "uuid": "x",
            "metadata": {"title": "Acme internal controls", "version": "2"},
            "groups": [{"id": "ops", "title": "Ops", "controls": [{"id": "ops-1", "title": "Backups"}]}],
        }
    }
    path = tmp_path / "acme.json"
    path.write_text(json.dumps(catalog))
    call_command("load_catalog", str(path))
    framework = Framework.objects.get(slug="acme-internal-controls")
    assert list(framework.requirements.values_list("identifier", flat=True)) == ["ops", "ops-1"]


def test_atlas_loads_tactics_techniques_and_mitigations(frameworks_dir):
    framework = catalog_load(path=frameworks_dir / "atlas" / "ATLAS.yaml")
    assert framework.slug == "mitre-atlas"
    assert framework.version == "5.6.0"
    assert "Apache" in framework.attribution
    requirements = Requirement.objects.filter(framework=framework)
    assert requirements.filter(kind="tactic").count() == 16
    assert requirements.filter(kind__in=["technique", "sub-technique"]).count() == 170
    assert requirements.filter(kind="mitigation").count() == 35
    injection = requirements.get(identifier="AML.T0051")
    assert injection.title == "LLM Prompt Injection"
    assert injection.parent.kind == "tactic"


def test_ai_rmf_and_owasp_llm_ship_in_code_with_attribution():
    builtin_catalogs_load()
    rmf = Framework.objects.get(slug="nist-ai-rmf-1")
    assert rmf.requirements.filter(kind="function").count() == 4
    assert rmf.requirements.filter(kind="subcategory").count() == 72
    assert rmf.requirements.get(identifier="MANAGE 4.3").parent.identifier == "MANAGE 4"
    owasp = Framework.objects.get(slug="owasp-llm-top-10-2025")
    assert list(owasp.requirements.values_list("identifier", flat=True))[:2] == ["LLM01:2025", "LLM02:2025"]
    assert "CC BY-SA 4.0" in owasp.attribution
    builtin_catalogs_load()  # idempotent
    assert owasp.requirements.count() == 10
