"""Demo inventory: a support assistant built on a model fine-tuned on restricted customer conversations.

It shows inheritance along lineage (the model, its serving image and endpoint all become restricted),
restricted assets hidden from other teams and auditors, and a few policy violations worth fixing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from assets.models import Asset, ClassificationLevel
from assets.services import asset_create, edge_add, provenance_set, transformation_append

# name, team, kind, environment, level (None: unclassified), criticality, owner, identifiers, tags, text
ASSETS: list[tuple[Any, ...]] = [
    ("customer-support-conversations", "data-engineering", "dataset", "production", "restricted", "critical",
     "engineer", ["s3://de-lake/support/conversations/"], ["pii", "support"],
     "Two years of support chats and e-mails with customers, exported nightly from the help desk."),
    ("clickstream-events", "data-engineering", "dataset", "production", "confidential", "medium",
     "engineer", ["s3://de-lake/web/clickstream/"], ["analytics"],
     "Page views and clicks of the product website."),
    ("support-ingest", "data-engineering", "pipeline", "production", "confidential", "high",
     "engineer", ["https://git.example.org/data/support-ingest"], ["airflow"],
     "Airflow DAG that pulls help-desk exports, drops attachments and pseudonymizes customer ids."),
    ("open-web-corpus", "research", "dataset", "production", "public", "low",
     "researcher", ["hf://datasets/research/open-web-corpus"], ["pretraining"],
     "Filtered Common Crawl snapshot used for continued pre-training."),
    ("base-llm-7b", "research", "model", "production", "internal", "high",
     "researcher", ["pkg:huggingface/research/base-llm-7b@2.0.0"], ["llm"],
     "Open-weights 7B model, continued pre-training on the open web corpus."),
    ("support-llm-ft", "research", "model", "production", "confidential", "critical",
     "champion", ["pkg:huggingface/research/support-llm-ft@1.4.2", "support-llm-ft"], ["llm", "support"],
     "base-llm-7b fine-tuned on customer support conversations to draft answers."),
    ("prompt-experiments", "research", "notebook", "development", "internal", "low",
     "researcher", ["https://jupyter.example.org/research/prompt-experiments.ipynb"], ["prompting"],
     "Notebook where the system prompt of the assistant is tuned."),
    ("support-llm-repo", "research", "repository", "production", "internal", "high",
     "champion", ["https://git.example.org/research/support-llm"], ["llm"],
     "Training and evaluation code of the support model."),
    ("llm-serving", "platform", "container_image", "production", "internal", "critical",
     "platform", ["registry.example.org/research/llm-serving:1.4.2"], ["serving", "vllm"],
     "vLLM serving image with the support model baked in."),
    ("gpu-cluster-prod", "platform", "infrastructure", "production", "confidential", "critical",
     "platform", ["k8s://gpu-prod-eu-west-1"], ["kubernetes"],
     "Kubernetes cluster with the A100 node pool that serves the models."),
    ("aws-ml-prod", "platform", "cloud_account", "production", "confidential", "critical",
     "platform", ["aws:123456789012"], ["aws"],
     "AWS account hosting the production ML workloads."),
    ("support-assistant-api", "product", "endpoint", "production", "restricted", "critical",
     None, ["https://api.example.org/v1/assistant"], ["customer-facing"],
     "The endpoint the help desk calls to draft replies."),
    ("moderation-api", "product", "vendor", "production", "confidential", "high",
     None, ["https://api.moderation-vendor.example.com"], ["vendor"],
     "Third-party content moderation API that screens drafted replies."),
    ("ab-test-dashboard", "product", "endpoint", "staging", None, "low",
     None, ["https://dash.example.org/ab"], ["analytics"],
     "Dashboard of A/B tests; nobody has classified it yet."),
]  # fmt: skip

# source (upstream), target (downstream), kind: data flows from source to target
EDGES = [
    ("customer-support-conversations", "support-ingest", "derived_from"),
    ("support-ingest", "support-llm-ft", "trained_on"),
    ("open-web-corpus", "base-llm-7b", "trained_on"),
    ("base-llm-7b", "support-llm-ft", "derived_from"),
    ("support-llm-repo", "support-llm-ft", "depends_on"),
    ("support-llm-ft", "llm-serving", "deployed_as"),
    ("llm-serving", "support-assistant-api", "deployed_as"),
    ("gpu-cluster-prod", "support-assistant-api", "hosted_on"),
    ("aws-ml-prod", "gpu-cluster-prod", "hosted_on"),
    ("prompt-experiments", "support-assistant-api", "depends_on"),
    ("support-assistant-api", "moderation-api", "calls"),
    ("clickstream-events", "ab-test-dashboard", "derived_from"),
]


INVENTORIED_DAYS_AGO = 90


def seed_demo_data(*, teams: dict[str, Any], users: dict[str, Any]) -> None:
    levels = {level.slug: level for level in ClassificationLevel.objects.all()}
    assets: dict[str, Asset] = {}
    for name, team, kind, env, level, criticality, owner, identifiers, tags, description in ASSETS:
        assets[name] = asset_create(
            actor=None,
            team=teams[team],
            name=name,
            kind=kind,
            environment=env,
            classification=levels[level] if level else None,
            criticality=criticality,
            technical_owner=users.get(owner) if owner else None,
            identifiers=identifiers,
            tags=tags,
            description=description,
        )
    # In the inventory since before the demo's first scans (two months back), so the coverage metrics of
    # the past days count them.
    Asset.objects.filter(pk__in=[asset.pk for asset in assets.values()]).update(
        created_at=timezone.now() - dt.timedelta(days=INVENTORIED_DAYS_AGO)
    )
    for source, target, kind in EDGES:
        edge_add(actor=None, source=assets[source], target=assets[target], kind=kind)
    _provenance(assets)


def _provenance(assets: dict[str, Asset]) -> None:
    today = timezone.localdate()
    provenance_set(
        actor=None,
        dataset=assets["customer-support-conversations"],
        source="Help-desk export (Zendesk), nightly",
        collected_on=today - dt.timedelta(days=400),
        purpose="Train and evaluate the support reply assistant.",
        legal_basis="Contract (terms of service, section 7)",
        contains_personal_data=True,
        anonymization_applied=False,
        retention_until=today + dt.timedelta(days=330),
    )
    provenance_set(
        actor=None,
        dataset=assets["clickstream-events"],
        source="Website tag manager",
        collected_on=today - dt.timedelta(days=800),
        purpose="Product analytics",
        legal_basis="Consent (cookie banner)",
        contains_personal_data=True,
        anonymization_applied=True,
        retention_until=today - dt.timedelta(days=20),
    )
    provenance_set(
        actor=None,
        dataset=assets["open-web-corpus"],
        source="Common Crawl CC-MAIN-2024-10",
        collected_on=today - dt.timedelta(days=600),
        purpose="Continued pre-training",
        legal_basis="Legitimate interest (public web data)",
    )
    now = timezone.now()
    for days_ago, text in [
        (390, "Initial export of 2023-2024 tickets; attachments dropped."),
        (200, "Customer ids replaced by keyed hashes (HMAC-SHA256, key in the vault)."),
        (30, "Removed tickets of customers who asked for erasure (142 tickets)."),
    ]:
        transformation_append(
            actor=None,
            dataset=assets["customer-support-conversations"],
            description=text,
            occurred_at=now - dt.timedelta(days=days_ago),
        )
