"""The AI minimum hygiene baseline, drawn from the hygiene guide in ``shared/seed/``.

Each control names its rule (``controls.rules``; "evidence" for attested ones), where it applies, and
the requirements it maps to as (framework slug, requirement identifier). ``seed_baseline`` writes this
idempotently: a control already there keeps the edits leads made to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CSF = "nist-csf-2"
RMF = "nist-ai-rmf-1"
SP = "nist-sp-800-53-rev5"
LLM = "owasp-llm-top-10-2025"
ATLAS = "mitre-atlas"

CODE_KINDS = ["repository", "notebook", "pipeline", "container_image"]
SERVING_KINDS = ["model", "endpoint"]
PRODUCTION = ["production"]


@dataclass(frozen=True)
class BaselineControl:
    code: str
    title: str
    objective: str
    domain: str
    rule: str = "evidence"
    scope: str = "asset"
    cadence_days: int = 90
    kinds: list[str] = field(default_factory=list)
    environments: list[str] = field(default_factory=list)
    min_classification: str = ""  # a level slug
    maps: list[tuple[str, str]] = field(default_factory=list)

    @property
    def mode(self) -> str:
        return "attested" if self.rule == "evidence" else "automated"


BASELINE: list[BaselineControl] = [
    # --- identity and access
    BaselineControl(
        "HYG-IAM-01", "MFA for access to restricted assets",
        "Everyone who can reach restricted data or models signs in with a second factor.",
        "identity", rule="mfa_for_access", cadence_days=1, min_classification="restricted",
        maps=[(CSF, "PR.AA-03"), (SP, "ia-2.1"), (SP, "ia-2.2"), (RMF, "GOVERN 1.4"), (ATLAS, "AML.M0019")],
    ),
    BaselineControl(
        "HYG-IAM-02", "Least-privilege roles",
        "Access to confidential assets is granted by role, to the least privilege the work needs.",
        "identity", cadence_days=180, min_classification="confidential",
        maps=[(CSF, "PR.AA-05"), (SP, "ac-6"), (SP, "ac-2"), (RMF, "GOVERN 2.1"), (ATLAS, "AML.M0005"),
              (LLM, "LLM06:2025")],
    ),
    BaselineControl(
        "HYG-IAM-03", "Access reviews",
        "The team's lead or champion reviews who can reach its sensitive assets and revokes what is"
        " not needed.",
        "identity", scope="team", cadence_days=90,
        maps=[(CSF, "PR.AA-05"), (SP, "ac-2.3"), (RMF, "GOVERN 1.5")],
    ),
    # --- secrets
    BaselineControl(
        "HYG-SEC-01", "No secrets in code",
        "No credential sits in code, notebooks or images: no secret finding is left open.",
        "secrets", rule="no_open_secrets", cadence_days=1, kinds=CODE_KINDS,
        maps=[(RMF, "MEASURE 2.7"), (CSF, "PR.AA-01"), (SP, "ia-5"), (LLM, "LLM02:2025"),
              (ATLAS, "AML.T0055")],
    ),
    BaselineControl(
        "HYG-SEC-02", "Secret scanning",
        "Code, notebooks and images are scanned for secrets at least monthly.",
        "secrets", rule="scan_secrets", cadence_days=30, kinds=CODE_KINDS,
        maps=[(RMF, "MEASURE 2.7"), (CSF, "ID.RA-01"), (SP, "ra-5"), (ATLAS, "AML.M0016")],
    ),
    BaselineControl(
        "HYG-SEC-03", "Secret management and rotation",
        "Credentials live in a secret manager, never in plain text, and are rotated on a schedule.",
        "secrets", cadence_days=90, kinds=["pipeline", "endpoint", "cloud_account", "infrastructure"],
        maps=[(RMF, "MEASURE 2.7"), (CSF, "PR.AA-01"), (SP, "ia-5.1"), (SP, "sc-12")],
    ),
    # --- data protection
    BaselineControl(
        "HYG-DATA-01", "Data classified",
        "Every asset declares how sensitive its data is, so handling rules can follow.",
        "data", rule="classification_present", cadence_days=1,
        maps=[(CSF, "ID.AM-05"), (CSF, "ID.AM-07"), (SP, "ra-2"), (RMF, "GOVERN 1.6"), (RMF, "MAP 2.1")],
    ),
    BaselineControl(
        "HYG-DATA-02", "Handling matches the data",
        "No asset receives data whose classification asks for stricter handling than its own.",
        "data", rule="handling_rules", cadence_days=1,
        maps=[(CSF, "PR.DS-01"), (CSF, "PR.DS-02"), (SP, "ac-4"), (RMF, "MEASURE 2.10")],
    ),
    BaselineControl(
        "HYG-DATA-03", "Encryption at rest",
        "Confidential data and model weights are encrypted where they are stored.",
        "data", cadence_days=365, min_classification="confidential",
        kinds=["dataset", "model", "cloud_account", "infrastructure"],
        maps=[(RMF, "MEASURE 2.10"), (CSF, "PR.DS-01"), (SP, "sc-28"), (ATLAS, "AML.M0012"),
              (LLM, "LLM02:2025")],
    ),
    BaselineControl(
        "HYG-DATA-04", "Encryption in transit",
        "Endpoints and pipelines carrying internal data or above use TLS.",
        "data", cadence_days=365, min_classification="internal", kinds=["endpoint", "pipeline"],
        maps=[(RMF, "MEASURE 2.7"), (CSF, "PR.DS-02"), (SP, "sc-8")],
    ),
    BaselineControl(
        "HYG-DATA-05", "Data minimization",
        "Datasets keep only the fields and records the purpose needs.",
        "data_governance", cadence_days=180, min_classification="confidential", kinds=["dataset"],
        maps=[(CSF, "ID.AM-07"), (SP, "pt-3"), (RMF, "MEASURE 2.10"), (LLM, "LLM02:2025")],
    ),
    BaselineControl(
        "HYG-DATA-06", "Retention respected",
        "Data past its retention date is deleted or anonymized.",
        "data_governance", rule="retention", cadence_days=1, kinds=["dataset"],
        maps=[(CSF, "PR.DS-01"), (SP, "si-12"), (RMF, "MEASURE 2.10")],
    ),
    BaselineControl(
        "HYG-DATA-07", "Anonymization of personal data",
        "Personal data used for training is anonymized, pseudonymized or synthetic where feasible.",
        "data_governance", cadence_days=180, min_classification="confidential", kinds=["dataset"],
        maps=[(CSF, "PR.DS-01"), (SP, "si-19"), (RMF, "MEASURE 2.10"), (LLM, "LLM02:2025")],
    ),
    BaselineControl(
        "HYG-DATA-08", "Dataset provenance",
        "Every dataset records where it came from, for what purpose, and until when it may be kept.",
        "data_governance", rule="provenance_recorded", cadence_days=1, kinds=["dataset"],
        maps=[(CSF, "ID.AM-07"), (SP, "sr-4"), (RMF, "MAP 4.1"), (RMF, "GOVERN 6.1"), (ATLAS, "AML.M0025"),
              (LLM, "LLM04:2025")],
    ),
    # --- vulnerability management
    BaselineControl(
        "HYG-VUL-01", "Dependency scanning",
        "Dependencies of code, images and services are scanned for known vulnerabilities at least weekly.",
        "vulnerability", rule="scan_dependencies", cadence_days=7,
        kinds=["repository", "container_image", "pipeline", "endpoint", "notebook"],
        maps=[(CSF, "ID.RA-01"), (SP, "ra-5"), (RMF, "MANAGE 3.1"), (LLM, "LLM03:2025"),
              (ATLAS, "AML.M0016")],
    ),
    BaselineControl(
        "HYG-VUL-02", "Static analysis",
        "Code and notebooks are checked by static analysis at least monthly.",
        "vulnerability", rule="scan_static", cadence_days=30, kinds=["repository", "notebook", "pipeline"],
        maps=[(CSF, "PR.PS-06"), (SP, "sa-11.1"), (RMF, "MEASURE 2.7")],
    ),
    BaselineControl(
        "HYG-VUL-03", "Patching within SLA",
        "Vulnerabilities are fixed within the SLA for their severity; none is left past due.",
        "vulnerability", rule="patching_sla", cadence_days=1,
        maps=[(CSF, "PR.PS-02"), (CSF, "ID.RA-08"), (SP, "si-2"), (RMF, "MANAGE 1.3"), (LLM, "LLM03:2025")],
    ),
    BaselineControl(
        "HYG-VUL-04", "Dependency pinning",
        "Dependencies are pinned to exact, verified versions and updated deliberately.",
        "supply_chain", cadence_days=180, kinds=["repository", "pipeline", "container_image"],
        maps=[(RMF, "GOVERN 6.1"), (CSF, "GV.SC-05"), (SP, "cm-2"), (SP, "sr-3"), (LLM, "LLM03:2025"),
              (ATLAS, "AML.T0010")],
    ),
    # --- supply chain
    BaselineControl(
        "HYG-SUP-01", "Vendor assessments",
        "Third-party AI services and data vendors are assessed before use and reviewed yearly.",
        "supply_chain", cadence_days=365, kinds=["vendor"],
        maps=[(CSF, "GV.SC-06"), (CSF, "GV.SC-07"), (SP, "sa-9"), (SP, "sr-6"), (RMF, "GOVERN 6.1"),
              (RMF, "MANAGE 3.1"), (LLM, "LLM03:2025")],
    ),
    BaselineControl(
        "HYG-SUP-02", "Verified pre-trained models",
        "Pre-trained models come from verified sources, with their artifacts checked before use.",
        "model", cadence_days=180, kinds=["model"],
        maps=[(CSF, "ID.RA-09"), (RMF, "MANAGE 3.2"), (SP, "sr-4"), (ATLAS, "AML.M0014"),
              (ATLAS, "AML.T0010"),
              (LLM, "LLM03:2025"), (LLM, "LLM04:2025")],
    ),
    # --- secure development and release
    BaselineControl(
        "HYG-DEV-01", "Infrastructure as code with review",
        "Infrastructure is versioned as code and every change is reviewed for security before it is applied.",
        "development", cadence_days=180, kinds=["infrastructure", "cloud_account", "pipeline"],
        maps=[(RMF, "MANAGE 2.2"), (CSF, "PR.PS-01"), (SP, "cm-2"), (SP, "cm-3")],
    ),
    BaselineControl(
        "HYG-DEV-02", "Security sign-off before release",
        "Models and endpoints reach production only after a recorded security sign-off.",
        "development", cadence_days=90, kinds=SERVING_KINDS, environments=PRODUCTION,
        maps=[(CSF, "PR.PS-06"), (SP, "sa-11"), (SP, "ca-6"), (RMF, "MANAGE 1.1"), (RMF, "GOVERN 4.1")],
    ),
    BaselineControl(
        "HYG-DEV-03", "Rollback to a known-good state",
        "Production models and endpoints can be rolled back to the previous version, and this has been"
        " tried.",
        "development", cadence_days=180, kinds=SERVING_KINDS, environments=PRODUCTION,
        maps=[(CSF, "RC.RP-03"), (SP, "cp-10"), (RMF, "MANAGE 2.4")],
    ),
    BaselineControl(
        "HYG-DEV-04", "Threat modelling",
        "Each production model or endpoint has a current threat model covering AI-specific attacks.",
        "development", cadence_days=365, kinds=SERVING_KINDS, environments=PRODUCTION,
        maps=[(CSF, "ID.RA-03"), (SP, "ra-3"), (SP, "sa-11.2"), (RMF, "MAP 5.1"), (RMF, "MEASURE 2.7")],
    ),
    BaselineControl(
        "HYG-ENV-01", "Environment segregation",
        "Development, staging and production are separated: nothing in production depends on development.",
        "operations", rule="environment_segregation", cadence_days=1,
        maps=[(CSF, "PR.IR-01"), (SP, "sc-7"), (SP, "cm-7"), (RMF, "MANAGE 2.2")],
    ),
    # --- monitoring and operations
    BaselineControl(
        "HYG-OPS-01", "Centralized logging",
        "Services, pipelines and infrastructure send their logs to central storage kept as evidence.",
        "operations", cadence_days=180, kinds=["endpoint", "pipeline", "infrastructure", "cloud_account"],
        maps=[(RMF, "MEASURE 2.4"), (CSF, "PR.PS-04"), (CSF, "DE.CM-09"), (SP, "au-2"), (SP, "au-6"),
              (ATLAS, "AML.M0024")],
    ),
    BaselineControl(
        "HYG-OPS-02", "Monitoring of model outputs",
        "Outputs of production models are monitored for leakage, drift and abuse.",
        "model", cadence_days=90, kinds=SERVING_KINDS, environments=PRODUCTION,
        maps=[(CSF, "DE.CM-09"), (SP, "si-4"), (RMF, "MEASURE 2.4"), (RMF, "MANAGE 4.1"),
              (LLM, "LLM05:2025"), (LLM, "LLM09:2025")],
    ),
    BaselineControl(
        "HYG-OPS-03", "Rate limits on model endpoints",
        "Model endpoints limit queries per client to bound abuse, extraction and cost.",
        "model", cadence_days=180, kinds=["endpoint"],
        maps=[(RMF, "MEASURE 2.7"), (CSF, "PR.IR-04"), (SP, "sc-5"), (LLM, "LLM10:2025"),
              (ATLAS, "AML.M0004"),
              (ATLAS, "AML.T0029"), (ATLAS, "AML.T0034")],
    ),
    BaselineControl(
        "HYG-OPS-04", "Query auditing on model endpoints",
        "Queries to model endpoints are logged with the caller so extraction and leakage can be traced.",
        "model", cadence_days=180, kinds=["endpoint"],
        maps=[(RMF, "MEASURE 2.8"), (CSF, "DE.CM-09"), (SP, "au-12"), (LLM, "LLM02:2025"),
              (ATLAS, "AML.T0024"),
              (ATLAS, "AML.M0024")],
    ),
    BaselineControl(
        "HYG-OPS-05", "Prompt-injection and output guardrails",
        "LLM endpoints filter untrusted input and validate output before it reaches people or tools.",
        "model", cadence_days=180, kinds=["endpoint"],
        maps=[(CSF, "PR.PS-06"), (LLM, "LLM01:2025"), (LLM, "LLM05:2025"), (LLM, "LLM07:2025"),
              (ATLAS, "AML.T0051"),
              (ATLAS, "AML.M0020"), (SP, "si-10"), (RMF, "MEASURE 2.7")],
    ),
    # --- incident response and resilience (team level)
    BaselineControl(
        "HYG-IR-01", "Incident response plan",
        "The team has a current incident response plan with playbooks and escalation paths for AI incidents.",
        "resilience", scope="team", cadence_days=365,
        maps=[(CSF, "RS.MA-01"), (SP, "ir-8"), (RMF, "MANAGE 4.3"), (RMF, "GOVERN 4.3")],
    ),
    BaselineControl(
        "HYG-IR-02", "Tabletop exercises",
        "The team rehearses its incident response in a tabletop exercise at least twice a year.",
        "resilience", scope="team", cadence_days=180,
        maps=[(CSF, "ID.IM-02"), (SP, "ir-3"), (RMF, "GOVERN 4.3")],
    ),
    BaselineControl(
        "HYG-IR-03", "Disaster-recovery drills",
        "Backups of data and models are restored in a drill at least yearly, and the gaps fixed.",
        "resilience", scope="team", cadence_days=365,
        maps=[(RMF, "MANAGE 2.3"), (CSF, "PR.DS-11"), (CSF, "RC.RP-03"), (SP, "cp-4"), (SP, "cp-9")],
    ),
    # --- governance and people
    BaselineControl(
        "HYG-GOV-01", "Penetration testing and red teaming",
        "Production models and endpoints are tested by people trying to break them, at least yearly.",
        "governance", cadence_days=365, kinds=SERVING_KINDS, environments=PRODUCTION,
        maps=[(CSF, "ID.IM-02"), (SP, "ca-8"), (RMF, "MEASURE 2.7"), (RMF, "MEASURE 1.3"),
              (LLM, "LLM01:2025"), (ATLAS, "AML.M0003")],
    ),
    BaselineControl(
        "HYG-GOV-02", "Security training",
        "Everyone in the team completes security training, including AI-specific threats, every year.",
        "governance", scope="team", cadence_days=365,
        maps=[(CSF, "PR.AT-01"), (SP, "at-2"), (RMF, "GOVERN 2.2"), (ATLAS, "AML.M0018")],
    ),
    BaselineControl(
        "HYG-GOV-03", "Inventory with owners",
        "Every asset in the inventory names the person who answers for it technically.",
        "governance", rule="owner_recorded", cadence_days=1,
        maps=[(CSF, "ID.AM-01"), (CSF, "ID.AM-02"), (SP, "cm-8"), (RMF, "GOVERN 1.6"), (ATLAS, "AML.M0023")],
    ),
    BaselineControl(
        "HYG-GOV-04", "Evidence kept current",
        "Every attested control that applies to an asset has evidence that has not expired.",
        "governance", rule="evidence_fresh", cadence_days=1,
        maps=[(CSF, "ID.IM-01"), (SP, "ca-7"), (RMF, "GOVERN 1.5"), (RMF, "MEASURE 1.2")],
    ),
]  # fmt: skip
