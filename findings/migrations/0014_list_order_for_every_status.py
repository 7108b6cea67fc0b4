from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built concurrently: at a million findings a plain CREATE INDEX would stop imports while it runs.
    atomic = False

    dependencies = [
        ("findings", "0013_finding_episodes"),
    ]

    operations = [
        # The list order of every finding, not only open ones: the API lists every status by default,
        # and a lead's or an auditor's first page of any status is then the index's first rows. New
        # findings are open, so an import writes this index as often as the partial one it replaces.
        AddIndexConcurrently(
            model_name="finding",
            index=models.Index(
                fields=["-severity_rank", "sla_due", "id"],
                include=["status", "asset"],
                name="finding_severity_order",
            ),
        ),
        RemoveIndexConcurrently(model_name="finding", name="finding_open_severity_order"),
        AddIndexConcurrently(
            model_name="finding",
            index=models.Index(fields=["first_seen", "id"], name="finding_first_seen_order"),
        ),
        RemoveIndexConcurrently(model_name="finding", name="finding_open_first_seen"),
        # An indexed EPSS score turned every update of a daily EPSS load into a write of every index.
        RemoveIndexConcurrently(model_name="finding", name="finding_open_epss_order"),
    ]
