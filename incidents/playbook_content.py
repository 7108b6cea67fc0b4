"""The six seeded playbooks, one per AI incident category, written for this product from the hygiene guide
(../shared/seed/): clear ownership and escalation paths, secrets never in code and rotated, least privilege,
environment segregation, rollback to known-good states, provenance of data, query auditing and rate limits
on models that serve users, vetted suppliers with pinned dependencies, standard incident communication and
anonymized learnings. Steps: (title, role, target minutes after the playbook starts, guidance).
Escalation: (target, minutes without acknowledgement or with a step overdue).
"""

from __future__ import annotations

from typing import Any

STANDARD_PATH = [("champions", 15), ("leads", 45), ("security_leads", 120)]
URGENT_PATH = [("champions", 10), ("security_leads", 30), ("leads", 60)]

PLAYBOOKS: list[dict[str, Any]] = [
    {
        "slug": "credential-leak",
        "title": "Leaked credential or secret",
        "categories": ["credential_leak"],
        "summary": "A key, token, password or certificate was exposed (committed to a repository, printed in "
        "logs or a notebook, pasted in a ticket, found by a secrets scanner). Treat it as used by someone "
        "else until proven otherwise: revoke first, investigate second.",
        "steps": [
            (
                "Revoke or rotate the exposed credential",
                "commander",
                30,
                "Disable the key at its issuer (cloud console, model API vendor, registry) and "
                "issue a new one "
                "through the secret manager; never paste the new value in chat or code.",
            ),
            (
                "Find every place the secret was used and redeploy with the new one",
                "member",
                60,
                "Pipelines, endpoints, notebooks and scheduled jobs; the inventory's lineage shows "
                "what depends on "
                "the affected service.",
            ),
            (
                "Review the issuer's access logs for use since exposure",
                "champion",
                120,
                "Look for calls from unknown addresses, unusual volumes, new resources or data "
                "exports. Record "
                "what you found in the timeline.",
            ),
            (
                "Remove the secret from history and caches",
                "member",
                240,
                "Rewrite or purge repository history, clear CI logs and notebook outputs, and confirm the "
                "secrets scanner no longer reports it.",
            ),
            (
                "Decide whether data was reached and notify the owners",
                "lead",
                480,
                "If the credential could read restricted or confidential data, involve the security "
                "lead and the "
                "data owners.",
            ),
        ],
        "escalation": URGENT_PATH,
    },
    {
        "slug": "data-leakage",
        "title": "Data leakage from a dataset, pipeline or model",
        "categories": ["data_leakage"],
        "summary": "Data left its intended boundary: a dataset shared too widely, training data "
        "reproduced by "
        "a model, a bucket made public, personal data in logs or prompts. Contain the flow, then establish "
        "what data, how much, and who could see it.",
        "steps": [
            (
                "Stop the flow: close the share, bucket or endpoint",
                "commander",
                30,
                "Remove public access, revoke the share, or take the endpoint offline; keep a copy of access "
                "logs before changing anything.",
            ),
            (
                "Identify the data and its classification",
                "champion",
                90,
                "Use the inventory: the effective classification, provenance (source, personal "
                "data, retention) "
                "and lineage of the affected assets tell what leaked and where it came from.",
            ),
            (
                "Estimate the exposure",
                "member",
                240,
                "Who accessed it, from where, how many records; for a model, test whether it "
                "reproduces training "
                "data and add output filtering or rate limits.",
            ),
            (
                "Inform the data owners and the security lead",
                "lead",
                240,
                "Personal or regulated data may carry notification duties with deadlines; the security lead "
                "decides on external notification.",
            ),
            (
                "Fix the control that failed",
                "champion",
                1440,
                "Data minimization, access policy by role and purpose, encryption, anonymization "
                "where feasible; "
                "add a follow-up action with an owner and a date.",
            ),
        ],
        "escalation": URGENT_PATH,
    },
    {
        "slug": "model-theft",
        "title": "Model theft or extraction",
        "categories": ["model_theft"],
        "summary": "Model weights were copied out, or an endpoint is being queried systematically to "
        "reproduce the model or its training data. Protect the artefacts and throttle the queries.",
        "steps": [
            (
                "Limit access to the weights and the endpoint",
                "commander",
                30,
                "Revoke unneeded access to the model registry and storage; apply rate limits and block the "
                "clients behind abnormal query patterns.",
            ),
            (
                "Collect evidence from query audit and storage logs",
                "member",
                120,
                "Query volumes per client, unusual input distributions, downloads of weight files; keep them "
                "with the incident.",
            ),
            (
                "Assess what was obtained",
                "champion",
                240,
                "Which model version, which data it was trained on (lineage), and whether outputs expose "
                "training data.",
            ),
            (
                "Harden serving",
                "lead",
                1440,
                "Authentication on every endpoint, per-client quotas, output monitoring, watermarking where "
                "practical; record the changes as follow-ups.",
            ),
        ],
        "escalation": STANDARD_PATH,
    },
    {
        "slug": "prompt-injection",
        "title": "Prompt injection against an LLM application",
        "categories": ["prompt_injection"],
        "summary": "Crafted input made a model-backed application ignore its instructions, reveal its system "
        "prompt or data, or call tools it should not. Contain the capability that was abused, then close "
        "the path.",
        "steps": [
            (
                "Disable the abused tool, plugin or data source",
                "commander",
                30,
                "Turn off the function calling, retrieval source or action that the injection "
                "reached; keep the "
                "conversation logs.",
            ),
            (
                "Reproduce the injection in staging",
                "member",
                120,
                "Never in production; capture the input, the model version and the configuration.",
            ),
            (
                "Check what the application did or revealed",
                "champion",
                180,
                "Data returned, actions taken with the application's credentials, other users affected.",
            ),
            (
                "Add input and output controls and a regression test",
                "member",
                1440,
                "Separate instructions from untrusted content, restrict tool permissions to least privilege, "
                "filter outputs, and add the injection to the red-team test suite.",
            ),
            (
                "Re-enable with monitoring",
                "lead",
                2880,
                "Alert on the pattern; the security lead signs off before the capability returns to "
                "production.",
            ),
        ],
        "escalation": STANDARD_PATH,
    },
    {
        "slug": "poisoning",
        "title": "Data or model poisoning",
        "categories": ["poisoning"],
        "summary": "Training or fine-tuning data, or a model artefact, was tampered with, so the model "
        "behaves wrongly or carries a backdoor. Roll back to a known-good state and trace where the tainted "
        "data came from.",
        "steps": [
            (
                "Roll back to the last known-good model",
                "commander",
                60,
                "Redeploy the previous version from the registry; stop scheduled retraining and fine-tuning "
                "jobs that read the suspect data.",
            ),
            (
                "Trace the suspect data through lineage and provenance",
                "champion",
                240,
                "Which datasets fed the model, their source and transformation log, and every other model "
                "trained on them (downstream lineage).",
            ),
            (
                "Quarantine the tainted data and artefacts",
                "member",
                480,
                "Move them out of training paths; keep copies for analysis.",
            ),
            (
                "Evaluate affected models against a trusted test set",
                "member",
                1440,
                "Look for targeted misbehaviour as well as accuracy drops.",
            ),
            (
                "Tighten ingestion controls",
                "lead",
                2880,
                "Provenance checks, integrity hashes on datasets and weights, review of who may "
                "write training "
                "data.",
            ),
        ],
        "escalation": STANDARD_PATH,
    },
    {
        "slug": "supply-chain",
        "title": "Supply-chain compromise",
        "categories": ["supply_chain"],
        "summary": "A dependency, container image, pre-trained model or vendor service we rely on was "
        "compromised or found malicious. Find where it runs, pin a safe version, and verify the supplier.",
        "steps": [
            (
                "Find every asset that uses the component",
                "champion",
                60,
                "Search findings and SBOMs by package or image; the inventory's lineage shows what "
                "depends on "
                "them.",
            ),
            (
                "Pin or remove the compromised version",
                "commander",
                120,
                "Pin a known-good version from a verified source, rebuild images, and block the bad "
                "version in "
                "the registry proxy.",
            ),
            (
                "Check for indicators of compromise",
                "member",
                480,
                "Unexpected network calls, new credentials used, changed files; rotate secrets the component "
                "could read.",
            ),
            (
                "Assess the supplier and record the decision",
                "lead",
                2880,
                "Vendor assessment, alternatives, and whether the exception process applies while a fix is "
                "awaited.",
            ),
        ],
        "escalation": STANDARD_PATH,
    },
]


def seed_playbooks(playbook_model: Any, version_model: Any, step_model: Any, level_model: Any) -> int:
    """Create the playbooks that do not exist yet (models passed in so a migration can use its own)."""
    created = 0
    for spec in PLAYBOOKS:
        if playbook_model.objects.filter(slug=spec["slug"]).exists():
            continue
        playbook = playbook_model.objects.create(
            slug=spec["slug"], title=spec["title"], categories=spec["categories"]
        )
        version = version_model.objects.create(
            playbook=playbook, number=1, summary=spec["summary"], change_note="Seeded from the hygiene guide"
        )
        step_model.objects.bulk_create(
            step_model(
                version=version, position=n, title=title, role=role, target_minutes=minutes, guidance=guidance
            )
            for n, (title, role, minutes, guidance) in enumerate(spec["steps"], start=1)
        )
        level_model.objects.bulk_create(
            level_model(version=version, level=n, target=target, after_minutes=minutes)
            for n, (target, minutes) in enumerate(spec["escalation"], start=1)
        )
        playbook.current_version = version
        playbook.save(update_fields=["current_version"])
        created += 1
    return created
