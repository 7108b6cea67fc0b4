from django.db import migrations

# Finding.team and ImportJob.team copy their asset's team so the permission scope is one indexed filter.
# A trigger keeps the copies right whichever path moves an asset (service, admin, SQL): otherwise the
# old team would go on seeing the asset's findings and the new one would not.
FOLLOW_TEAM = """
CREATE OR REPLACE FUNCTION findings_follow_asset_team() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE findings_finding SET team_id = NEW.team_id WHERE asset_id = NEW.id;
    UPDATE findings_importjob SET team_id = NEW.team_id WHERE asset_id = NEW.id;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS findings_follow_asset_team ON assets_asset;
CREATE TRIGGER findings_follow_asset_team AFTER UPDATE OF team_id ON assets_asset
    FOR EACH ROW WHEN (OLD.team_id IS DISTINCT FROM NEW.team_id)
    EXECUTE FUNCTION findings_follow_asset_team();
"""
UNDO = """
DROP TRIGGER IF EXISTS findings_follow_asset_team ON assets_asset;
DROP FUNCTION IF EXISTS findings_follow_asset_team();
"""


class Migration(migrations.Migration):
    dependencies = [("findings", "0003_import_speed_unchecked_asset")]

    operations = [migrations.RunSQL(FOLLOW_TEAM, UNDO)]
