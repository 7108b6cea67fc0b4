"""Write the SPDX 3 AI BOM sample beside this file with the SPDX 3 Python bindings.

Run: ``.venv/bin/python tests/assets/data/make_spdx3_samples.py`` (spdx-python-model, pinned in
pyproject.toml). The document: a support chatbot fine-tuned (``descendantOf``) from a base model, trained
on a customer-tickets dataset (red under the Traffic Light Protocol) which was derived from a raw export,
with three Python packages it depends on, one of them affected by a vulnerability with a CVSS v3
assessment.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from spdx_python_model import v3_0_1 as spdx

BASE = "https://example.org/spdx3/support-bot"
OUT = Path(__file__).with_name("support-bot-ai-bom.spdx3.json")


def main() -> None:
    objects = spdx.SHACLObjectSet()
    info = spdx.CreationInfo(specVersion="3.0.1", created=dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC))
    info._id = "_:creationinfo"
    tool = spdx.Tool(_id=f"{BASE}/tool", name="hygiene test sample writer", creationInfo=info)
    info.createdUsing = [tool]
    person = spdx.Person(_id=f"{BASE}/person", name="Hygiene tests", creationInfo=info)
    info.createdBy = [person]

    def add(obj):
        objects.add(obj)
        return obj

    add(tool)
    add(person)
    base = add(
        spdx.ai_AIPackage(
            _id=f"{BASE}/base-model",
            name="tiny-llama-base",
            software_packageVersion="1.1",
            software_packageUrl="pkg:huggingface/example/tiny-llama-base@1.1",
            software_primaryPurpose=spdx.software_SoftwarePurpose.model,
            creationInfo=info,
        )
    )
    bot = add(
        spdx.ai_AIPackage(
            _id=f"{BASE}/support-bot",
            name="support-bot",
            software_packageVersion="2.0",
            description="Customer support assistant, fine-tuned on past tickets.",
            software_primaryPurpose=spdx.software_SoftwarePurpose.model,
            ai_typeOfModel=["transformer"],
            creationInfo=info,
        )
    )
    weights = add(spdx.software_File(_id=f"{BASE}/weights", name="model.safetensors", creationInfo=info))
    tickets = add(
        spdx.dataset_DatasetPackage(
            _id=f"{BASE}/tickets",
            name="support-tickets-2025",
            software_packageVersion="2025.12",
            dataset_datasetType=[spdx.dataset_DatasetType.text],
            dataset_confidentialityLevel=spdx.dataset_ConfidentialityLevelType.red,
            software_primaryPurpose=spdx.software_SoftwarePurpose.data,
            creationInfo=info,
        )
    )
    raw = add(
        spdx.dataset_DatasetPackage(
            _id=f"{BASE}/raw-export",
            name="crm-raw-export",
            software_packageVersion="2025.11",
            dataset_datasetType=[spdx.dataset_DatasetType.structured],
            software_primaryPurpose=spdx.software_SoftwarePurpose.data,
            creationInfo=info,
        )
    )
    packages = [
        add(
            spdx.software_Package(
                _id=f"{BASE}/pkg/{name}",
                name=name,
                software_packageVersion=version,
                software_packageUrl=f"pkg:pypi/{name}@{version}",
                creationInfo=info,
            )
        )
        for name, version in (("torch", "2.3.0"), ("transformers", "4.40.0"), ("tokenizers", "0.19.1"))
    ]
    vuln = add(
        spdx.security_Vulnerability(
            _id=f"{BASE}/vuln/CVE-2024-3568",
            name="CVE-2024-3568",
            summary="transformers: arbitrary code execution when loading a checkpoint",
            description="Deserialization of untrusted data in the Trainer's checkpoint loading.",
            externalIdentifier=[
                spdx.ExternalIdentifier(
                    externalIdentifierType=spdx.ExternalIdentifierType.cve, identifier="CVE-2024-3568"
                )
            ],
            creationInfo=info,
        )
    )

    def rel(name, source, kind, targets, cls=spdx.Relationship, **extra):
        return add(
            cls(
                _id=f"{BASE}/rel/{name}",
                from_=source,
                relationshipType=getattr(spdx.RelationshipType, kind),
                to=targets,
                creationInfo=info,
                **extra,
            )
        )

    rel("contains-weights", bot, "contains", [weights])
    rel("fine-tuned", bot, "descendantOf", [base])
    rel("trained", weights, "trainedOn", [tickets])
    rel("derived", tickets, "descendantOf", [raw])
    rel("deps", bot, "dependsOn", packages)
    rel("affects", vuln, "affects", [packages[1]])
    rel(
        "cvss",
        vuln,
        "hasAssessmentFor",
        [packages[1]],
        cls=spdx.security_CvssV3VulnAssessmentRelationship,
        security_score=8.8,
        security_severity=spdx.security_CvssSeverityType.high,
        security_vectorString="CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H",
    )
    bom = add(
        spdx.software_Sbom(
            _id=f"{BASE}/sbom",
            rootElement=[bot],
            software_sbomType=[spdx.software_SbomType.build],
            creationInfo=info,
        )
    )
    add(
        spdx.SpdxDocument(
            _id=f"{BASE}/document",
            name="support-bot AI BOM",
            rootElement=[bom],
            element=[base, bot, weights, tickets, raw, *packages, vuln],
            profileConformance=[
                spdx.ProfileIdentifierType.core,
                spdx.ProfileIdentifierType.software,
                spdx.ProfileIdentifierType.ai,
                spdx.ProfileIdentifierType.dataset,
                spdx.ProfileIdentifierType.security,
            ],
            creationInfo=info,
        )
    )
    with OUT.open("wb") as handle:
        spdx.JSONLDSerializer().write(objects, handle, indent=2)


if __name__ == "__main__":
    main()
