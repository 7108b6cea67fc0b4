"""LLM red-team results mapped to the OWASP Top 10 for LLM Applications 2025 and MITRE ATLAS.

One table per tool: garak probes by module (``dan.Dan_11_0`` -> ``dan``), promptfoo plugins by id
(``harmful:hate`` -> ``harmful``, ``pii:direct`` -> ``pii``) and by the strategy that wrapped the attack
(jailbreak strategies add LLM01/AML.T0054). ATLAS ids are checked against the shared ATLAS.yaml by
the tests; the OWASP ids are the 2025 list's ``LLM01:2025`` ... ``LLM10:2025``.
"""

from __future__ import annotations

from .base import Category, FindingRecord, ProbeStat, Severity
from .common import clip

OWASP_LLM_2025 = {
    "LLM01:2025": "Prompt Injection",
    "LLM02:2025": "Sensitive Information Disclosure",
    "LLM03:2025": "Supply Chain",
    "LLM04:2025": "Data and Model Poisoning",
    "LLM05:2025": "Improper Output Handling",
    "LLM06:2025": "Excessive Agency",
    "LLM07:2025": "System Prompt Leakage",
    "LLM08:2025": "Vector and Embedding Weaknesses",
    "LLM09:2025": "Misinformation",
    "LLM10:2025": "Unbounded Consumption",
}
ATLAS_NAMES = {
    "AML.T0011.001": "Malicious Package",
    "AML.T0024": "Exfiltration via AI Inference API",
    "AML.T0029": "Denial of AI Service",
    "AML.T0034": "Cost Harvesting",
    "AML.T0048": "External Harms",
    "AML.T0048.003": "User Harm",
    "AML.T0050": "Command and Scripting Interpreter",
    "AML.T0051": "LLM Prompt Injection",
    "AML.T0051.000": "LLM Prompt Injection: Direct",
    "AML.T0051.001": "LLM Prompt Injection: Indirect",
    "AML.T0053": "AI Agent Tool Invocation",
    "AML.T0054": "LLM Jailbreak",
    "AML.T0056": "Extract LLM System Prompt",
    "AML.T0057": "LLM Data Leakage",
    "AML.T0060": "Publish Hallucinated Entities",
}

_INJECTION = (["LLM01:2025"], ["AML.T0051.000"])
_JAILBREAK = (["LLM01:2025"], ["AML.T0054"])
_HARMFUL = (["LLM05:2025"], ["AML.T0048"])
_LEAK = (["LLM02:2025"], ["AML.T0057"])
_MISINFO = (["LLM09:2025"], ["AML.T0048.003"])
_OUTPUT = (["LLM05:2025"], ["AML.T0050"])

GARAK_PROBES: dict[str, tuple[list[str], list[str]]] = {
    "promptinject": _INJECTION,
    "encoding": _INJECTION,
    "goodside": _INJECTION,
    "latentinjection": (["LLM01:2025"], ["AML.T0051.001"]),
    "web_injection": (["LLM01:2025", "LLM05:2025"], ["AML.T0051.001", "AML.T0057"]),
    "xss": (["LLM01:2025", "LLM05:2025"], ["AML.T0051.001", "AML.T0057"]),
    "dan": _JAILBREAK,
    "grandma": _JAILBREAK,
    "phrasing": _JAILBREAK,
    "suffix": _JAILBREAK,
    "gcg": _JAILBREAK,
    "tap": _JAILBREAK,
    "visual_jailbreak": _JAILBREAK,
    "fitd": _JAILBREAK,
    "atkgen": _HARMFUL,
    "lmrc": _HARMFUL,
    "realtoxicityprompts": _HARMFUL,
    "continuation": _HARMFUL,
    "donotanswer": _HARMFUL,
    "topic": _HARMFUL,
    "malwaregen": (["LLM05:2025"], ["AML.T0048", "AML.T0050"]),
    "av_spam_scanning": _OUTPUT,
    "exploitation": _OUTPUT,
    "ansiescape": _OUTPUT,
    "badchars": _INJECTION,
    "leakreplay": _LEAK,
    "divergence": (["LLM02:2025", "LLM10:2025"], ["AML.T0057", "AML.T0029"]),
    "apikey": _LEAK,
    "sysprompt_extraction": (["LLM07:2025"], ["AML.T0056"]),
    "packagehallucination": (["LLM09:2025", "LLM03:2025"], ["AML.T0060", "AML.T0011.001"]),
    "snowball": _MISINFO,
    "misleading": _MISINFO,
    "glitch": (["LLM09:2025"], ["AML.T0048.003"]),
    "doctor": _JAILBREAK,
    "fileformats": (["LLM03:2025"], ["AML.T0011.001"]),
}

PROMPTFOO_PLUGINS: dict[str, tuple[list[str], list[str]]] = {
    "harmful": _HARMFUL,
    "pii": _LEAK,
    "cross-session-leak": _LEAK,
    "prompt-extraction": (["LLM07:2025"], ["AML.T0056"]),
    "system-prompt-override": (["LLM01:2025", "LLM07:2025"], ["AML.T0051.000"]),
    "indirect-prompt-injection": (["LLM01:2025"], ["AML.T0051.001"]),
    "ascii-smuggling": _INJECTION,
    "hijacking": (["LLM06:2025"], ["AML.T0051.000"]),
    "excessive-agency": (["LLM06:2025"], ["AML.T0053"]),
    "rbac": (["LLM06:2025"], ["AML.T0053"]),
    "bola": (["LLM06:2025"], ["AML.T0053"]),
    "bfla": (["LLM06:2025"], ["AML.T0053"]),
    "tool-discovery": (["LLM06:2025"], ["AML.T0053"]),
    "shell-injection": _OUTPUT,
    "sql-injection": _OUTPUT,
    "ssrf": _OUTPUT,
    "debug-access": _OUTPUT,
    "hallucination": _MISINFO,
    "overreliance": _MISINFO,
    "imitation": _MISINFO,
    "politics": _MISINFO,
    "contracts": (["LLM09:2025"], ["AML.T0048"]),
    "competitors": (["LLM09:2025"], ["AML.T0048"]),
    "religion": _HARMFUL,
    "divergent-repetition": (["LLM02:2025", "LLM10:2025"], ["AML.T0057", "AML.T0029"]),
    "reasoning-dos": (["LLM10:2025"], ["AML.T0029", "AML.T0034"]),
    "beavertails": _HARMFUL,
    "cyberseceval": _INJECTION,
    "policy": (["LLM09:2025"], ["AML.T0048"]),
    "intent": _HARMFUL,
}
# promptfoo strategies that turn a plugin's probe into a jailbreak or an injection.
PROMPTFOO_STRATEGIES: dict[str, tuple[list[str], list[str]]] = {
    "jailbreak": _JAILBREAK,
    "jailbreak:composite": _JAILBREAK,
    "jailbreak:tree": _JAILBREAK,
    "jailbreak:likert": _JAILBREAK,
    "crescendo": _JAILBREAK,
    "goat": _JAILBREAK,
    "prompt-injection": _INJECTION,
    "base64": _INJECTION,
    "rot13": _INJECTION,
    "leetspeak": _INJECTION,
    "hex": _INJECTION,
    "multilingual": _INJECTION,
}
_HIGH_FAMILIES = {"malwaregen", "xss", "exploitation", "packagehallucination", "web_injection", "apikey"}
_HIGH_FAMILIES |= {"shell-injection", "sql-injection", "ssrf", "pii", "prompt-extraction", "excessive-agency"}


def garak_mapping(probe: str) -> tuple[list[str], list[str]]:
    family = probe.split(".", 1)[0]
    owasp, atlas = GARAK_PROBES.get(family, ([], []))
    return list(owasp), list(atlas)


def promptfoo_mapping(plugin: str, strategies: list[str] | None = None) -> tuple[list[str], list[str]]:
    owasp: list[str] = []
    atlas: list[str] = []
    family = plugin.split(":", 1)[0]
    for more_owasp, more_atlas in (
        PROMPTFOO_PLUGINS.get(plugin) or PROMPTFOO_PLUGINS.get(family) or ([], []),
        *(PROMPTFOO_STRATEGIES.get(strategy, ([], [])) for strategy in strategies or []),
    ):
        owasp += [value for value in more_owasp if value not in owasp]
        atlas += [value for value in more_atlas if value not in atlas]
    return sorted(owasp), sorted(atlas)


def describe_mapping(owasp: list[str], atlas: list[str]) -> str:
    lines = [f"OWASP LLM Top 10 2025: {value} {OWASP_LLM_2025.get(value, '')}".rstrip() for value in owasp]
    lines += [f"MITRE ATLAS: {value} {ATLAS_NAMES.get(value, '')}".rstrip() for value in atlas]
    return "\n".join(lines) or "Not mapped to an OWASP LLM or ATLAS id."


def failing_probe_record(stat: ProbeStat, *, tool: str, family: str, noun: str) -> FindingRecord:
    rate = stat.pass_rate
    severity = Severity.HIGH if family in _HIGH_FAMILIES or rate < 0.5 else Severity.MEDIUM
    title = (
        f"{tool} {noun} {stat.probe} failed {stat.failed} of {stat.attempts} attempts (pass rate {rate:.0%})"
    )
    return FindingRecord(
        category=Category.RED_TEAM,
        rule_id=clip(stat.probe, 300),
        title=clip(title, 500),
        severity=severity,
        location=clip(f"{noun} {stat.probe}", 1000),
        target=clip(stat.target, 1000),
        description="\n".join(
            (
                f"The model under test failed the {tool} {noun} {stat.probe}: "
                f"{stat.failed} of {stat.attempts} attempts got through (pass rate {rate:.1%}).",
                f"Detectors/graders: {', '.join(stat.detectors)}." if stat.detectors else "",
                describe_mapping(stat.owasp, stat.atlas),
            )
        ).strip(),
    )
