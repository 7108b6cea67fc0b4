"""Frameworks shipped as data in code, because their owners publish no machine-readable catalog we
could take: NIST AI RMF 1.0 (NIST AI 100-1, a US Government work) and the OWASP Top 10 for LLM
Applications 2025 (CC BY-SA 4.0: the attribution below is shown on its framework page)."""

from __future__ import annotations

from controls.catalogs import ParsedCatalog, ParsedRequirement

AI_RMF_SLUG = "nist-ai-rmf-1"
OWASP_LLM_SLUG = "owasp-llm-top-10-2025"

# (function id, title, [(category id, title, [(subcategory id, short title)])])
AI_RMF: list[tuple[str, str, list[tuple[str, str, list[tuple[str, str]]]]]] = [
    ("GOVERN", "Govern: a culture of risk management is cultivated and present", [
        ("GOVERN 1", "Policies, processes and practices for AI risk are in place and implemented", [
            ("GOVERN 1.1", "Legal and regulatory requirements involving AI are understood and documented"),
            ("GOVERN 1.2", "Trustworthy AI characteristics are integrated into policies and practices"),
            ("GOVERN 1.3", "The level of risk management is set by the organization's risk tolerance"),
            ("GOVERN 1.4", "The risk management process is set by transparent policies and controls"),
            ("GOVERN 1.5", "Monitoring and periodic review of risk management are planned, roles defined"),
            ("GOVERN 1.6", "Mechanisms are in place to inventory AI systems"),
            ("GOVERN 1.7", "AI systems are decommissioned and phased out safely"),
        ]),
        ("GOVERN 2", "Accountability structures empower and train teams for AI risk", [
            ("GOVERN 2.1", "Roles, responsibilities and lines of communication for AI risk are documented"),
            ("GOVERN 2.2", "Personnel and partners receive AI risk management training"),
            ("GOVERN 2.3", "Executive leadership takes responsibility for AI risk decisions"),
        ]),
        ("GOVERN 3", "Workforce diversity, equity, inclusion and accessibility inform AI risk work", [
            ("GOVERN 3.1", "AI risk decisions are informed by a diverse team"),
            ("GOVERN 3.2", "Roles for human-AI configurations and oversight are defined"),
        ]),
        ("GOVERN 4", "Teams are committed to a culture that considers and communicates AI risk", [
            ("GOVERN 4.1", "Practices foster a critical-thinking, safety-first mindset"),
            ("GOVERN 4.2", "Teams document and communicate the risks and impacts of their AI"),
            ("GOVERN 4.3", "Practices enable AI testing, incident identification and information sharing"),
        ]),
        ("GOVERN 5", "Processes for robust engagement with relevant AI actors", [
            ("GOVERN 5.1", "Feedback from outside the team about AI impacts is collected and integrated"),
            ("GOVERN 5.2", "Adjudicated feedback is regularly incorporated into system design"),
        ]),
        ("GOVERN 6", "Risks from third-party software, data and supply chain are addressed", [
            ("GOVERN 6.1", "Policies address AI risks of third-party entities, including IP infringement"),
            ("GOVERN 6.2", "Contingency processes handle failures or incidents in high-risk third-party AI"),
        ]),
    ]),
    ("MAP", "Map: context is recognized and risks related to context are identified", [
        ("MAP 1", "Context is established and understood", [
            ("MAP 1.1", "Intended purposes, uses, laws, norms and deployment settings are documented"),
            ("MAP 1.2", "Interdisciplinary, diverse AI actors establish the context"),
            ("MAP 1.3", "The organization's mission and goals for AI are documented"),
            ("MAP 1.4", "The business value or context of use is defined"),
            ("MAP 1.5", "Organizational risk tolerances are determined and documented"),
            ("MAP 1.6", "System requirements are elicited from relevant AI actors"),
        ]),
        ("MAP 2", "Categorization of the AI system is performed", [
            ("MAP 2.1", "The tasks and methods the AI system supports are defined"),
            ("MAP 2.2", "Knowledge limits and human oversight of outputs are documented"),
            ("MAP 2.3", "Scientific integrity and TEVV considerations are documented"),
        ]),
        ("MAP 3", "Capabilities, usage, goals, benefits and costs are understood", [
            ("MAP 3.1", "Potential benefits of intended functionality are documented"),
            ("MAP 3.2", "Potential costs of AI errors, including non-monetary, are documented"),
            ("MAP 3.3", "The targeted application scope is specified and documented"),
            ("MAP 3.4", "Operator and practitioner proficiency processes are defined"),
            ("MAP 3.5", "Processes for human oversight are defined and documented"),
        ]),
        ("MAP 4", "Risks and benefits are mapped for all components, including third parties", [
            ("MAP 4.1", "Approaches to map technology and legal risks of components are followed"),
            ("MAP 4.2", "Internal risk controls for components, including third-party AI, are documented"),
        ]),
        ("MAP 5", "Impacts to individuals, groups, communities, organizations, society are characterized", [
            ("MAP 5.1", "Likelihood and magnitude of each identified impact are documented"),
            ("MAP 5.2", "Regular engagement with AI actors about impacts is in place"),
        ]),
    ]),
    ("MEASURE", "Measure: identified risks are assessed, analyzed or tracked", [
        ("MEASURE 1", "Appropriate methods and metrics are identified and applied", [
            ("MEASURE 1.1", "Approaches and metrics for the mapped AI risks are selected"),
            ("MEASURE 1.2", "Metrics and the effectiveness of existing controls are regularly assessed"),
            ("MEASURE 1.3", "Independent assessors are involved in regular assessments"),
        ]),
        ("MEASURE 2", "AI systems are evaluated for trustworthy characteristics", [
            ("MEASURE 2.1", "Test sets, metrics and TEVV tools are documented"),
            ("MEASURE 2.2", "Evaluations involving human subjects meet requirements"),
            ("MEASURE 2.3", "Performance is measured for conditions like deployment"),
            ("MEASURE 2.4", "Functionality and behavior are monitored in production"),
            ("MEASURE 2.5", "The deployed system is demonstrated valid and reliable"),
            ("MEASURE 2.6", "The system is evaluated regularly for safety risks"),
            ("MEASURE 2.7", "Security and resilience are evaluated and documented"),
            ("MEASURE 2.8", "Transparency and accountability risks are examined"),
            ("MEASURE 2.9", "The model is explained, validated and documented"),
            ("MEASURE 2.10", "Privacy risk is examined and documented"),
            ("MEASURE 2.11", "Fairness and bias are evaluated and documented"),
            ("MEASURE 2.12", "Environmental impact and sustainability are assessed"),
            ("MEASURE 2.13", "Effectiveness of TEVV metrics and processes is evaluated"),
        ]),
        ("MEASURE 3", "Mechanisms for tracking AI risks over time are in place", [
            ("MEASURE 3.1", "Existing, unanticipated and emergent risks are tracked"),
            ("MEASURE 3.2", "Risk tracking covers settings that are hard to measure"),
            ("MEASURE 3.3", "Feedback processes for users to report problems and appeal are established"),
        ]),
        ("MEASURE 4", "Feedback about the efficacy of measurement is gathered and assessed", [
            ("MEASURE 4.1", "Measurement is connected to deployment context and domain experts"),
            ("MEASURE 4.2", "Trustworthiness results are validated with relevant AI actors"),
            ("MEASURE 4.3", "Performance improvements or declines are identified and documented"),
        ]),
    ]),
    ("MANAGE", "Manage: risks are prioritized and acted upon based on projected impact", [
        ("MANAGE 1", "AI risks from MAP and MEASURE are prioritized, responded to and managed", [
            ("MANAGE 1.1", "It is determined whether the system achieves its purpose and should proceed"),
            ("MANAGE 1.2", "Treatment of documented risks is prioritized"),
            ("MANAGE 1.3", "Responses to high-priority risks are planned and documented"),
            ("MANAGE 1.4", "Negative residual risks are documented"),
        ]),
        ("MANAGE 2", "Strategies to maximize benefits and minimize negative impacts are implemented", [
            ("MANAGE 2.1", "Resources to manage risks are considered, with non-AI alternatives"),
            ("MANAGE 2.2", "Mechanisms sustain the value of deployed AI systems"),
            ("MANAGE 2.3", "Procedures respond to and recover from previously unknown risks"),
            ("MANAGE 2.4", "Mechanisms supersede, disengage or deactivate misbehaving AI systems"),
        ]),
        ("MANAGE 3", "AI risks and benefits from third-party entities are managed", [
            ("MANAGE 3.1", "Third-party resources are monitored and risk controls applied"),
            ("MANAGE 3.2", "Pre-trained models used for development are monitored"),
        ]),
        ("MANAGE 4", "Risk treatments, response, recovery and communication plans are monitored", [
            ("MANAGE 4.1", "Post-deployment monitoring plans are implemented"),
            ("MANAGE 4.2", "Continual improvement activities are integrated into updates"),
            ("MANAGE 4.3", "Incidents and errors are communicated, tracked and recovered from"),
        ]),
    ]),
]  # fmt: skip

OWASP_LLM_2025 = [
    ("LLM01:2025", "Prompt Injection"),
    ("LLM02:2025", "Sensitive Information Disclosure"),
    ("LLM03:2025", "Supply Chain"),
    ("LLM04:2025", "Data and Model Poisoning"),
    ("LLM05:2025", "Improper Output Handling"),
    ("LLM06:2025", "Excessive Agency"),
    ("LLM07:2025", "System Prompt Leakage"),
    ("LLM08:2025", "Vector and Embedding Weaknesses"),
    ("LLM09:2025", "Misinformation"),
    ("LLM10:2025", "Unbounded Consumption"),
]
OWASP_ATTRIBUTION = (
    "The OWASP Top 10 for LLM Applications 2025 is a work of the OWASP Foundation's GenAI Security "
    "Project (https://genai.owasp.org/llm-top-10/), licensed under Creative Commons Attribution-ShareAlike "
    "4.0 (CC BY-SA 4.0, https://creativecommons.org/licenses/by-sa/4.0/). Identifiers and titles are "
    "reproduced unchanged."
)


def ai_rmf() -> ParsedCatalog:
    catalog = ParsedCatalog(
        slug=AI_RMF_SLUG,
        name="NIST AI Risk Management Framework",
        version="1.0",
        publisher="National Institute of Standards and Technology",
        source="NIST AI 100-1 (January 2023), functions, categories and subcategories",
        url="https://doi.org/10.6028/NIST.AI.100-1",
        licence="Public domain (work of the US Government)",
        attribution="NIST AI 100-1, Artificial Intelligence Risk Management Framework (AI RMF 1.0). "
        "Subcategory titles are shortened here; see the publication for the full text.",
    )
    for function, title, categories in AI_RMF:
        catalog.requirements.append(
            ParsedRequirement(identifier=function, title=title, kind="function", is_group=True)
        )
        for category, category_title, subcategories in categories:
            catalog.requirements.append(
                ParsedRequirement(
                    identifier=category,
                    title=category_title,
                    parent=function,
                    kind="category",
                    is_group=True,
                    depth=1,
                )
            )
            for sub, sub_title in subcategories:
                catalog.requirements.append(
                    ParsedRequirement(
                        identifier=sub, title=sub_title, parent=category, kind="subcategory", depth=2
                    )
                )
    return catalog


def owasp_llm() -> ParsedCatalog:
    catalog = ParsedCatalog(
        slug=OWASP_LLM_SLUG,
        name="OWASP Top 10 for LLM Applications",
        version="2025",
        publisher="OWASP Foundation",
        source="OWASP GenAI Security Project",
        url="https://genai.owasp.org/llm-top-10/",
        licence="CC BY-SA 4.0",
        attribution=OWASP_ATTRIBUTION,
    )
    for identifier, title in OWASP_LLM_2025:
        catalog.requirements.append(ParsedRequirement(identifier=identifier, title=title, kind="risk"))
    return catalog
