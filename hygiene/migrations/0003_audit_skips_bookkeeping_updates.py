from django.db import migrations

from hygiene.audit_triggers import AUDIT_WRITE_FUNCTION_V1 as AUDIT_WRITE_FUNCTION


class Migration(migrations.Migration):
    dependencies = [("hygiene", "0002_audit_foreign_tables_and_roles")]

    operations = [migrations.RunSQL(AUDIT_WRITE_FUNCTION, migrations.RunSQL.noop)]
