from django.db import migrations, models

from hygiene.audit_triggers import AUDIT_SCOPE_BACKFILL_V2, AUDIT_SCOPE_FUNCTION, AUDIT_SCOPE_FUNCTION_V2


class Migration(migrations.Migration):
    """Entries about an incident (and everything of it) carry the incident, to be scoped like it."""

    dependencies = [
        ("hygiene", "0007_merge_notifications_audit"),
        ("incidents", "0004_exercise_participants_audited"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="scope_incident_id",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["scope_incident_id"], name="audit_scope_incident"),
        ),
        migrations.RunSQL(AUDIT_SCOPE_FUNCTION_V2, AUDIT_SCOPE_FUNCTION),
        # The append-only triggers refuse any update; the owner lifts them for this one backfill.
        migrations.RunSQL(
            "ALTER TABLE hygiene_auditentry DISABLE TRIGGER USER;"
            + AUDIT_SCOPE_BACKFILL_V2
            + "ALTER TABLE hygiene_auditentry ENABLE TRIGGER USER;",
            migrations.RunSQL.noop,
        ),
    ]
