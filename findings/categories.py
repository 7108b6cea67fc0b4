"""The one list of finding categories and severities, shared by the importers and the models.

Importers are pure (no database), the models need choices: both import these enumerations, so a
category exists in exactly one place. Django's ``TextChoices`` needs no app registry, so importer
modules can use it outside Django too.
"""

from __future__ import annotations

from django.db import models


class Category(models.TextChoices):
    VULNERABILITY = "vulnerability", "Vulnerability"
    SECRET = "secret", "Secret"
    CODE_WEAKNESS = "code_weakness", "Code weakness"
    MISCONFIGURATION = "misconfiguration", "Misconfiguration"
    LICENCE = "licence", "Licence"
    # Unsafe operators or globals in a serialized model (pickle), unsafe serialization formats.
    MODEL_FILE = "model_file", "Model file"
    # A red-team probe or plugin an LLM failed (garak, promptfoo).
    RED_TEAM = "red_team", "LLM red team"


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"
    INFO = "info", "Info"
