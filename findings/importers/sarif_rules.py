"""What a SARIF run says about its rules and its target, worked out once per run (not per result)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .base import Category, Severity
from .common import as_dict, as_list, as_score, as_text, file_location, normalize_severity, severity_from_cvss

_LEVELS = {"error": Severity.HIGH, "warning": Severity.MEDIUM, "note": Severity.LOW, "none": Severity.INFO}
# Tools whose every result is of one kind; the others report code weaknesses unless a rule says more.
_TOOL_CATEGORIES = {
    "gitleaks": Category.SECRET,
    "trufflehog": Category.SECRET,
    "detect-secrets": Category.SECRET,
    "ggshield": Category.SECRET,
    "checkov": Category.MISCONFIGURATION,
    "tfsec": Category.MISCONFIGURATION,
    "kics": Category.MISCONFIGURATION,
    "terrascan": Category.MISCONFIGURATION,
    "hadolint": Category.MISCONFIGURATION,
    "grype": Category.VULNERABILITY,
    "dependency-check": Category.VULNERABILITY,
    "osv-scanner": Category.VULNERABILITY,
}
# Trivy names the kind of each rule in its tags (and in the rule name).
_TAG_CATEGORIES = {
    "vulnerability": Category.VULNERABILITY,
    "misconfiguration": Category.MISCONFIGURATION,
    "secret": Category.SECRET,
    "license": Category.LICENCE,
}
_ADVISORY_ID = re.compile(r"^(CVE|GHSA|PYSEC|GO|RUSTSEC|OSV|GMS|ALAS|DSA|RHSA|USN)-", re.IGNORECASE)
_CHECKOV_ID = re.compile(r"^CKV2?_")


@dataclass(slots=True)
class Rule:
    id: str = ""
    name: str = ""
    title: str = ""
    description: str = ""
    category: str = ""
    severity: str = ""  # from security-severity: stronger than a result's level
    default_severity: str = ""  # from defaultConfiguration.level: weaker than a result's level
    cvss: float | None = None
    url: str = ""


def _text_of(value: object, limit: int = 4000) -> str:
    """A SARIF message object's text ({"text": ...}) or a plain string."""
    return as_text(value.get("text"), limit) if type(value) is dict else as_text(value, limit)


def _objects(value: object) -> list[dict[str, Any]]:
    return [item for item in as_list(value) if type(item) is dict]


class RunContext:
    def __init__(self, meta: dict[str, Any]) -> None:
        tool = as_dict(meta.get("tool"))
        driver = as_dict(tool.get("driver"))
        self.tool = as_text(driver.get("name"), 200).lower()
        self.target = _target(meta)
        self._tool_category = _TOOL_CATEGORIES.get(self.tool.split()[0] if self.tool else "", "")
        self._components = [_objects(driver.get("rules"))]
        self._components += [_objects(ext.get("rules")) for ext in _objects(tool.get("extensions"))]
        self._by_id: dict[str, dict[str, Any]] = {}
        for rules in reversed(self._components):  # the driver's own rules win a name clash
            self._by_id.update((as_text(rule.get("id"), 200), rule) for rule in rules)
        self._cache: dict[tuple[Any, ...], Rule] = {}
        self._paths: dict[str, str] = {}

    def path(self, uri: str) -> str:
        """A result's file path, normalized once per file rather than once per result."""
        path = self._paths.get(uri)
        if path is None:
            if len(self._paths) > 100_000:
                self._paths.clear()
            path = self._paths[uri] = file_location(as_text(uri, 990))
        return path

    def rule_for(self, rule_id: object, index: object, reference: object, message: str) -> Rule:
        if not rule_id and type(reference) is not dict and type(index) is not int:
            return self._rule_from_message(message)
        component = 0
        if type(reference) is dict:
            rule_id = rule_id or reference.get("id")
            index = reference.get("index", index)
            tool_component = reference.get("toolComponent")
            if type(tool_component) is dict and type(tool_component.get("index")) is int:
                component = tool_component["index"] + 1  # extensions follow the driver
        key = (rule_id if type(rule_id) is str else None, index if type(index) is int else None, component)
        rule = self._cache.get(key)
        if rule is None:
            rule = self._cache[key] = self._build(*key)
        return rule

    def _rule_from_message(self, message: str) -> Rule:
        # Gitleaks 7 names no rule in its results, only in the message ("AWS Access Key secret
        # detected"): take the longest rule id the message starts with, else the message's first line.
        first_line = message.strip().split("\n", 1)[0][:200]
        rule = self._cache.get(("message", first_line))
        if rule is None:
            names = sorted((name for name in self._by_id if name and first_line.startswith(name)), key=len)
            rule = self._describe(self._by_id[names[-1]], names[-1]) if names else Rule(id=first_line)
            self._cache["message", first_line] = rule
        return rule

    def category_for(self, rule_id: str) -> str:
        if self._tool_category:
            return self._tool_category
        if _ADVISORY_ID.match(rule_id):
            return Category.VULNERABILITY
        if _CHECKOV_ID.match(rule_id):
            return Category.MISCONFIGURATION
        return Category.CODE_WEAKNESS

    def _build(self, rule_id: str | None, index: int | None, component: int) -> Rule:
        found: dict[str, Any] | None = None
        rules = self._components[component] if 0 <= component < len(self._components) else []
        if index is not None and 0 <= index < len(rules):
            found = rules[index]
            if rule_id and as_text(found.get("id"), 200) != rule_id:
                found = None  # an index that disagrees with the id: trust the id
        if found is None and rule_id:
            found = self._by_id.get(rule_id)
        if found is None:
            return Rule(id=as_text(rule_id, 200))
        return self._describe(found, as_text(rule_id, 200))

    def _describe(self, rule: dict[str, Any], rule_id: str) -> Rule:
        properties = as_dict(rule.get("properties"))
        config = rule.get("defaultConfiguration")
        level = config.get("level") if type(config) is dict else None
        rule_id = rule_id or as_text(rule.get("id"), 200)
        name = as_text(rule.get("name"), 500)
        security = properties.get("security-severity")
        score = as_score(security)
        severity = severity_from_cvss(score) if score is not None else normalize_severity(security, "")
        return Rule(
            id=rule_id,
            name=name if name != rule_id else "",
            title=_text_of(rule.get("shortDescription"), 500),
            description=_text_of(rule.get("fullDescription")),
            category=self._rule_category(rule_id, name, properties),
            severity=severity,
            default_severity=_LEVELS.get(level, "") if type(level) is str else "",
            cvss=as_score(properties.get("cvssv3_baseScore")) or score,
            url=as_text(rule.get("helpUri"), 2000),
        )

    def _rule_category(self, rule_id: str, name: str, properties: dict[str, Any]) -> str:
        if self.tool == "trivy":
            tags = as_list(properties.get("tags"))
            for word in [*(tag.lower() for tag in tags if type(tag) is str), name.lower()]:
                for marker, category in _TAG_CATEGORIES.items():
                    if marker in word:
                        return category
        return self.category_for(rule_id)


def _target(meta: dict[str, Any]) -> str:
    """What the run scanned: the repository, Trivy's image, or the source root."""
    for provenance in _objects(meta.get("versionControlProvenance")):
        uri = as_text(provenance.get("repositoryUri"), 1000)
        if uri:
            return uri
    properties = as_dict(meta.get("properties"))
    image = as_text(properties.get("imageName"), 1000)
    if image:
        return image
    bases = meta.get("originalUriBaseIds")
    if type(bases) is dict:
        for name in ("SRCROOT", "%SRCROOT%", "ROOTPATH", "PROJECTROOT"):
            base = bases.get(name)
            if type(base) is dict and as_text(base.get("uri"), 1000):
                return as_text(base.get("uri"), 1000)
    return ""
