from django.db import migrations

# A scan source bound to an asset belongs to the asset's team: when the asset moves, its sources move with
# it, as its findings and import jobs do (0004), or their pulls would import into a team that no longer
# owns the asset. The source table's audit trigger records the move.
FOLLOW_TEAM = """
CREATE OR REPLACE FUNCTION findings_follow_asset_team() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE findings_finding SET team_id = NEW.team_id WHERE asset_id = NEW.id;
    UPDATE findings_importjob SET team_id = NEW.team_id WHERE asset_id = NEW.id;
    UPDATE findings_scansource SET team_id = NEW.team_id WHERE asset_id = NEW.id;
    RETURN NULL;
END;
$$;
"""
UNDO = """
CREATE OR REPLACE FUNCTION findings_follow_asset_team() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE findings_finding SET team_id = NEW.team_id WHERE asset_id = NEW.id;
    UPDATE findings_importjob SET team_id = NEW.team_id WHERE asset_id = NEW.id;
    RETURN NULL;
END;
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("findings", "0004_finding_team_follows_asset")]

    operations = [migrations.RunSQL(FOLLOW_TEAM, UNDO)]
