from django.db import migrations

# The snapshot generation (0004) moved by an UPDATE of its one row, which every writing transaction held
# until it committed: two connections computing different days of a backfill waited on each other for
# the whole of each day. Now, as the data version does (0005), each writing transaction inserts its id
# into a log (no row shared between transactions, so nothing is waited on) and
#
#     generation = value + count(*) of the log
#
# moves by one per committed writing transaction; ``data_version_prune`` folds the log into ``value`` in
# one statement, so a reader sees the generation neither go back nor repeat.
FORWARD = """
CREATE TABLE metrics_snapshot_generation_log (txid bigint PRIMARY KEY);
CREATE OR REPLACE FUNCTION metrics_snapshot_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO metrics_snapshot_generation_log (txid) VALUES (txid_current()) ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;
"""

BACKWARD = """
UPDATE metrics_snapshot_generation SET value = value + (SELECT count(*) FROM metrics_snapshot_generation_log);
CREATE OR REPLACE FUNCTION metrics_snapshot_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE metrics_snapshot_generation SET value = value + 1;
    RETURN NULL;
END;
$$;
DROP TABLE metrics_snapshot_generation_log;
"""


class Migration(migrations.Migration):
    dependencies = [("metrics", "0005_data_version")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
