from django.db import migrations

from hygiene.audit_triggers import AUDIT_ACTOR_FUNCTIONS, AUDIT_WRITE_FUNCTION, AUDIT_WRITE_FUNCTION_V1


class Migration(migrations.Migration):
    """Row changes made outside the application name their database session as the actor."""

    dependencies = [("hygiene", "0004_audit_entry_scope")]

    operations = [
        migrations.RunSQL(
            AUDIT_ACTOR_FUNCTIONS + AUDIT_WRITE_FUNCTION,
            AUDIT_WRITE_FUNCTION_V1
            + "DROP FUNCTION IF EXISTS hygiene_audit_context(); DROP FUNCTION IF EXISTS hygiene_audit_actor_label();",
        )
    ]
