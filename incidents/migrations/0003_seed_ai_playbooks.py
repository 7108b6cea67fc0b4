from django.db import migrations


def seed(apps, schema_editor):
    from incidents.playbook_content import seed_playbooks

    seed_playbooks(
        apps.get_model("incidents", "Playbook"),
        apps.get_model("incidents", "PlaybookVersion"),
        apps.get_model("incidents", "PlaybookStep"),
        apps.get_model("incidents", "EscalationLevel"),
    )


class Migration(migrations.Migration):
    dependencies = [("incidents", "0002_incident_restricted_follows_assets")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
