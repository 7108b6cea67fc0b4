from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built concurrently: at a million findings a plain CREATE INDEX would stop imports while it runs.
    atomic = False

    dependencies = [
        ("findings", "0004_finding_team_follows_asset"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="finding",
            index=models.Index(
                fields=["team", "status", "-severity_rank", "sla_due", "id"], name="finding_team_status_order"
            ),
        ),
        # Replaced by the one above, which also holds the list's order within a severity.
        RemoveIndexConcurrently(model_name="finding", name="finding_team_status_sev"),
        # An asset's findings are found through the (asset, fingerprint) unique index as well; keeping
        # both made every new finding write one index more for no faster read.
        RemoveIndexConcurrently(model_name="finding", name="finding_asset_status"),
        AddIndexConcurrently(
            model_name="finding",
            index=models.Index(
                condition=models.Q(("status", "open")),
                fields=["-severity_rank", "sla_due", "id"],
                name="finding_open_severity_order",
            ),
        ),
        AddIndexConcurrently(
            model_name="finding",
            index=models.Index(
                condition=models.Q(("status", "open")),
                fields=["first_seen", "id"],
                name="finding_open_first_seen",
            ),
        ),
        AddIndexConcurrently(
            model_name="finding",
            index=models.Index(
                condition=models.Q(("kev", True)),
                fields=["team", "status", "-severity_rank", "sla_due", "id"],
                name="finding_kev_by_team",
            ),
        ),
    ]
