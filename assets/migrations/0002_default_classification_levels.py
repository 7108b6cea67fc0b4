from django.db import migrations

DEFAULT_LEVELS = [
    {
        "name": "Public",
        "slug": "public",
        "rank": 10,
        "description": "Published or publishable without harm: open datasets, released papers, public model cards.",
        "encryption_at_rest": False,
        "encryption_in_transit": True,
        "mfa_required": False,
        "max_retention_days": None,
        "anonymization_required": False,
        "access_granted_by": "Anyone; no approval needed.",
        "is_restricted": False,
    },
    {
        "name": "Internal",
        "slug": "internal",
        "rank": 20,
        "description": "For people of the organization: internal code, metrics, non-personal telemetry.",
        "encryption_at_rest": True,
        "encryption_in_transit": True,
        "mfa_required": False,
        "max_retention_days": None,
        "anonymization_required": False,
        "access_granted_by": "Any team lead, for staff and contractors under contract.",
        "is_restricted": False,
    },
    {
        "name": "Confidential",
        "slug": "confidential",
        "rank": 30,
        "description": "Harmful if disclosed: customer business data, unreleased model weights, evaluation sets.",
        "encryption_at_rest": True,
        "encryption_in_transit": True,
        "mfa_required": True,
        "max_retention_days": 730,
        "anonymization_required": False,
        "access_granted_by": "The owning team's lead, on documented need to know.",
        "is_restricted": False,
    },
    {
        "name": "Restricted",
        "slug": "restricted",
        "rank": 40,
        "description": "Personal or regulated data and anything trained on it: customer conversations, "
        "health or financial records, credentials.",
        "encryption_at_rest": True,
        "encryption_in_transit": True,
        "mfa_required": True,
        "max_retention_days": 365,
        "anonymization_required": True,
        "access_granted_by": "The owning team's lead with the security lead's approval, named individuals only.",
        "is_restricted": True,
    },
]


def create_levels(apps, schema_editor):
    level_model = apps.get_model("assets", "ClassificationLevel")
    for level in DEFAULT_LEVELS:
        level_model.objects.update_or_create(slug=level["slug"], defaults=level)


def remove_levels(apps, schema_editor):
    level_model = apps.get_model("assets", "ClassificationLevel")
    level_model.objects.filter(slug__in=[level["slug"] for level in DEFAULT_LEVELS]).delete()


class Migration(migrations.Migration):
    dependencies = [("assets", "0001_initial")]

    operations = [migrations.RunPython(create_levels, remove_levels)]
