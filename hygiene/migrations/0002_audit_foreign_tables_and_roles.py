from django.db import migrations

from hygiene.audit_triggers import audit_table_sql
from hygiene.roles import GLOBAL_ROLES

# Tables of Django, django-guardian and django-otp whose changes are permission or account changes.
FOREIGN_TABLES = [
    "auth_user",
    "auth_user_groups",
    "auth_user_user_permissions",
    "auth_group",
    "auth_group_permissions",
    "guardian_userobjectpermission",
    "guardian_groupobjectpermission",
    "otp_totp_totpdevice",
]


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in GLOBAL_ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("hygiene", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("guardian", "0003_remove_groupobjectpermission_guardian_gr_content_ae6aec_idx_and_more"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [
        *[migrations.RunSQL(*audit_table_sql(table)) for table in FOREIGN_TABLES],
        migrations.RunPython(create_roles, migrations.RunPython.noop),
    ]
