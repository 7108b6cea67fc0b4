"""A data version that moves whenever a table a dashboard reads changes (metrics.data_version).

Why not a one-row counter like 0004: imports run concurrently, and an UPDATE of one row would make every
writing transaction wait for the previous one to commit. Instead a statement-level trigger on each table
inserts the writing transaction's id into ``metrics_data_version_log`` (ON CONFLICT DO NOTHING: one row
per writing transaction however many statements it runs, no row shared between transactions, so no
lock is waited on). The row becomes visible to others exactly when its transaction commits, so

    version = base + count(*) of the log

moves by one per committed writing transaction. ``data_version_prune`` (run by the snapshot beat task)
moves the log's rows into ``base`` in one transaction, so a reader sees either both before or both
after: the version never goes back and never repeats. txid_current() is 64-bit (epoch included), so a
transaction id in the log is never reused.

The tables are every table of the apps a dashboard reads (their state after the migrations this one
depends on) and the core tables of who sees what; tests/metrics/test_data_version_guard.py fails when a
dashboard reads a table outside this list (or its exemptions). A table added later gets the trigger in
its own migration: ``SELECT metrics_track_data_version('new_table')``.
"""

from django.db import migrations

APPS = ("assets", "findings", "controls", "incidents", "audits", "metrics")
CORE_TABLES = (
    "hygiene_team",
    "hygiene_membership",
    "hygiene_profile",
    "auth_user",
    "auth_group",
    "auth_user_groups",
    "guardian_userobjectpermission",
    "guardian_groupobjectpermission",
)
OWN_TABLES = {"metrics_data_version_log", "metrics_data_version_base"}

FORWARD = """
CREATE TABLE metrics_data_version_log (txid bigint PRIMARY KEY);
CREATE TABLE metrics_data_version_base (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
                                        value bigint NOT NULL);
INSERT INTO metrics_data_version_base (value) VALUES (0);
CREATE FUNCTION metrics_data_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO metrics_data_version_log (txid) VALUES (txid_current()) ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;
CREATE FUNCTION metrics_track_data_version(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DROP TRIGGER IF EXISTS data_version ON %s', tbl);
    EXECUTE format('CREATE TRIGGER data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s'
                   ' FOR EACH STATEMENT EXECUTE FUNCTION metrics_data_written()', tbl);
END;
$$;
"""

BACKWARD = """
DROP FUNCTION IF EXISTS metrics_data_written() CASCADE;
DROP FUNCTION IF EXISTS metrics_track_data_version(regclass);
DROP TABLE IF EXISTS metrics_data_version_log;
DROP TABLE IF EXISTS metrics_data_version_base;
"""


def tracked_tables(apps):
    tables = set(CORE_TABLES)
    for label in APPS:
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            if model._meta.managed and not model._meta.proxy:
                tables.add(model._meta.db_table)
    return sorted(tables - OWN_TABLES)


def track(apps, schema_editor):
    for table in tracked_tables(apps):
        schema_editor.execute("SELECT metrics_track_data_version(%s::regclass)", [table])


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0004_snapshot_generation"),
        ("assets", "0004_asset_retired_at_violation_resolved_at"),
        ("findings", "0019_episode_probe_index"),
        ("controls", "0001_controls_frameworks_baseline_assessments_exceptions"),
        ("incidents", "0005_incident_team_order_index"),
        ("audits", "0001_engagements_and_bundles"),
        ("hygiene", "0008_audit_entry_incident_scope"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("guardian", "0003_remove_groupobjectpermission_guardian_gr_content_ae6aec_idx_and_more"),
    ]

    operations = [
        migrations.RunSQL(FORWARD, BACKWARD),
        # Dropping the function CASCADE (backward) drops the triggers with it.
        migrations.RunPython(track, migrations.RunPython.noop),
    ]
