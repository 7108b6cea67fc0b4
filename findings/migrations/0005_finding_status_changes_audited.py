from django.db import migrations

from hygiene.audit_triggers import FINDING_STATUS_AUDIT, FINDING_STATUS_AUDIT_DROP


class Migration(migrations.Migration):
    """Every change of a finding's status is audited by a trigger, whoever makes it (raw SQL too)."""

    dependencies = [
        ("findings", "0004_finding_team_follows_asset"),
        ("hygiene", "0005_audit_names_raw_sessions"),
    ]

    operations = [migrations.RunSQL(FINDING_STATUS_AUDIT, FINDING_STATUS_AUDIT_DROP)]
