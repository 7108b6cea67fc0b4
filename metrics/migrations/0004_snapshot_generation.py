from django.db import migrations

# A counter every write to the snapshot tables moves on (the snapshot service, a backfill, a team's
# rows deleted with it), in the writer's own transaction: sums of snapshot rows read once are kept
# under the counter's value and the query's own text (metrics.selectors._remembered), so a reader never
# gets sums older than the rows it would read.
TABLES = ("metrics_findingsnapshot", "metrics_coveragesnapshot", "metrics_findingmonth", "metrics_controlsnapshot")

FORWARD = """
CREATE TABLE metrics_snapshot_generation (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
                                          value bigint NOT NULL);
INSERT INTO metrics_snapshot_generation (value) VALUES (1);
CREATE FUNCTION metrics_snapshot_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE metrics_snapshot_generation SET value = value + 1;
    RETURN NULL;
END;
$$;
""" + "".join(
    f"CREATE TRIGGER {table}_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}"
    " FOR EACH STATEMENT EXECUTE FUNCTION metrics_snapshot_written();\n"
    for table in TABLES
)

BACKWARD = "".join(f"DROP TRIGGER IF EXISTS {table}_generation ON {table};\n" for table in TABLES) + (
    "DROP FUNCTION IF EXISTS metrics_snapshot_written();\nDROP TABLE IF EXISTS metrics_snapshot_generation;\n"
)


class Migration(migrations.Migration):
    dependencies = [("metrics", "0003_control_snapshots")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
