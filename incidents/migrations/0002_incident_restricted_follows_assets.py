"""An incident is restricted while any affected asset is: kept by triggers, whatever path changes them.

Adding or removing an affected asset, and an asset's effective level turning restricted or back (the
classification service recomputes ``is_restricted`` set-based), refresh the incidents concerned.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION incidents_refresh_restricted(ids bigint[]) RETURNS void LANGUAGE sql AS $$
    UPDATE incidents_incident i
       SET is_restricted = EXISTS (
               SELECT 1 FROM incidents_incidentasset l JOIN assets_asset a ON a.id = l.asset_id
                WHERE l.incident_id = i.id AND a.is_restricted)
     WHERE i.id = ANY(ids)
       AND i.is_restricted IS DISTINCT FROM EXISTS (
               SELECT 1 FROM incidents_incidentasset l JOIN assets_asset a ON a.id = l.asset_id
                WHERE l.incident_id = i.id AND a.is_restricted);
$$;

CREATE OR REPLACE FUNCTION incidents_link_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM incidents_refresh_restricted(ARRAY[COALESCE(NEW.incident_id, OLD.incident_id)]);
    RETURN NULL;
END; $$;
DROP TRIGGER IF EXISTS incidents_link_restricted ON incidents_incidentasset;
CREATE TRIGGER incidents_link_restricted AFTER INSERT OR DELETE ON incidents_incidentasset
    FOR EACH ROW EXECUTE FUNCTION incidents_link_changed();

CREATE OR REPLACE FUNCTION incidents_asset_restriction_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM incidents_refresh_restricted(ARRAY(
        SELECT DISTINCT l.incident_id FROM incidents_incidentasset l
          JOIN new_rows n ON n.id = l.asset_id JOIN old_rows o ON o.id = n.id
         WHERE n.is_restricted IS DISTINCT FROM o.is_restricted));
    RETURN NULL;
END; $$;
DROP TRIGGER IF EXISTS incidents_asset_restricted ON assets_asset;
CREATE TRIGGER incidents_asset_restricted AFTER UPDATE ON assets_asset
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION incidents_asset_restriction_changed();
"""

DROP = """
DROP TRIGGER IF EXISTS incidents_asset_restricted ON assets_asset;
DROP FUNCTION IF EXISTS incidents_asset_restriction_changed();
DROP TRIGGER IF EXISTS incidents_link_restricted ON incidents_incidentasset;
DROP FUNCTION IF EXISTS incidents_link_changed();
DROP FUNCTION IF EXISTS incidents_refresh_restricted(bigint[]);
"""


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial"), ("assets", "0003_asset_object_permissions")]

    operations = [migrations.RunSQL(CREATE, DROP)]
