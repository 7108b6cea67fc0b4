"""Database-side capture of row changes into the audit log.

``audited()`` is added to a model's ``Meta.triggers``; the trigger calls one SQL function,
``hygiene_audit_write``, created by hygiene's first migration. Who acted comes from session settings
(``hygiene.actor_id``, ``hygiene.actor_label``, ``hygiene.context``) that the request middleware and
task runner set, so bulk updates, raw SQL and the admin are all captured alike.
"""

import pgtrigger

# Columns never copied into the log: password hashes, TOTP seeds, token hashes.
SENSITIVE_COLUMNS = ("password", "key", "key_hash", "bin_key")

AUDIT_WRITE_FUNCTION = """
CREATE OR REPLACE FUNCTION hygiene_audit_write(tbl text, op text, old_row jsonb, new_row jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    changed jsonb;
    obj_id text;
    ctx text;
BEGIN
    old_row := old_row - ARRAY[%(sensitive)s];
    new_row := new_row - ARRAY[%(sensitive)s];
    IF op = 'UPDATE' THEN
        SELECT COALESCE(jsonb_agg(n.key ORDER BY n.key), '[]'::jsonb) INTO changed
          FROM jsonb_each(new_row) n WHERE n.value IS DISTINCT FROM old_row -> n.key;
        -- Bookkeeping columns alone are not worth an entry; sign-ins are logged as events.
        IF changed <@ '["last_used_at", "last_login"]'::jsonb THEN
            RETURN;
        END IF;
    ELSE
        changed := '[]'::jsonb;
    END IF;
    obj_id := COALESCE(new_row ->> 'id', old_row ->> 'id', '');
    INSERT INTO hygiene_auditentry
        (occurred_at, actor_id, actor_label, action, object_type, object_id,
         before, after, changes, context, prev_hash, hash)
    VALUES (
        clock_timestamp(),
        NULLIF(current_setting('hygiene.actor_id', true), '')::bigint,
        hygiene_audit_actor_label(),
        lower(op), tbl, obj_id, old_row, new_row, changed,
        hygiene_audit_context(), '', ''
    );
END;
$$;
""".replace("%(sensitive)s", ", ".join(f"'{column}'" for column in SENSITIVE_COLUMNS))

# Who acted, for the triggers: the application names the person (or command, or task) in session
# settings; a change made outside it (psql, a script) is at least named by its database session.
AUDIT_ACTOR_FUNCTIONS = """
CREATE OR REPLACE FUNCTION hygiene_audit_actor_label() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT COALESCE(NULLIF(current_setting('hygiene.actor_label', true), ''), 'db:' || session_user)
$$;

CREATE OR REPLACE FUNCTION hygiene_audit_context() RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN NULLIF(current_setting('hygiene.context', true), '') IS NOT NULL
             OR NULLIF(current_setting('hygiene.actor_label', true), '') IS NOT NULL
        THEN COALESCE(NULLIF(current_setting('hygiene.context', true), '')::jsonb, '{}'::jsonb)
        ELSE jsonb_strip_nulls(jsonb_build_object(
            'db_user', session_user::text,
            'application', NULLIF(current_setting('application_name', true), ''),
            'client', host(inet_client_addr())
        ))
    END
$$;
"""

# A finding's status is machine-written in bulk by imports (audited through their job and its
# sightings), but a change of status is audited here too, whoever makes it: the services, an import,
# or raw SQL. Compact on purpose: imports may change thousands at once.
FINDING_STATUS_AUDIT = """
CREATE OR REPLACE FUNCTION hygiene_audit_finding_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO hygiene_auditentry
        (occurred_at, actor_id, actor_label, action, object_type, object_id,
         before, after, changes, context, prev_hash, hash)
    VALUES (
        clock_timestamp(),
        NULLIF(current_setting('hygiene.actor_id', true), '')::bigint,
        hygiene_audit_actor_label(),
        'status_change', 'findings_finding', NEW.id::text,
        jsonb_build_object('status', OLD.status, 'mitigated_at', OLD.mitigated_at),
        jsonb_build_object(
            'status', NEW.status, 'from', OLD.status, 'to', NEW.status,
            'reason', COALESCE(current_setting('hygiene.reason', true), ''),
            'rule_id', NEW.rule_id, 'asset_id', NEW.asset_id, 'team_id', NEW.team_id,
            'job_id', hygiene_audit_id(current_setting('hygiene.job_id', true)),
            'mitigated_at', NEW.mitigated_at
        ),
        '["status"]'::jsonb, hygiene_audit_context(), '', ''
    );
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS hygiene_audit_finding_status ON findings_finding;
CREATE TRIGGER hygiene_audit_finding_status AFTER UPDATE OF status ON findings_finding
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION hygiene_audit_finding_status();
"""

FINDING_STATUS_AUDIT_DROP = """
DROP TRIGGER IF EXISTS hygiene_audit_finding_status ON findings_finding;
DROP FUNCTION IF EXISTS hygiene_audit_finding_status();
"""

# The first version, as migrations 0001 and 0003 created it (before the actor fallback existed).
AUDIT_WRITE_FUNCTION_V1 = """
CREATE OR REPLACE FUNCTION hygiene_audit_write(tbl text, op text, old_row jsonb, new_row jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    changed jsonb;
    obj_id text;
    ctx text;
BEGIN
    old_row := old_row - ARRAY[%(sensitive)s];
    new_row := new_row - ARRAY[%(sensitive)s];
    IF op = 'UPDATE' THEN
        SELECT COALESCE(jsonb_agg(n.key ORDER BY n.key), '[]'::jsonb) INTO changed
          FROM jsonb_each(new_row) n WHERE n.value IS DISTINCT FROM old_row -> n.key;
        -- Bookkeeping columns alone are not worth an entry; sign-ins are logged as events.
        IF changed <@ '["last_used_at", "last_login"]'::jsonb THEN
            RETURN;
        END IF;
    ELSE
        changed := '[]'::jsonb;
    END IF;
    obj_id := COALESCE(new_row ->> 'id', old_row ->> 'id', '');
    ctx := NULLIF(current_setting('hygiene.context', true), '');
    INSERT INTO hygiene_auditentry
        (occurred_at, actor_id, actor_label, action, object_type, object_id,
         before, after, changes, context, prev_hash, hash)
    VALUES (
        clock_timestamp(),
        NULLIF(current_setting('hygiene.actor_id', true), '')::bigint,
        COALESCE(current_setting('hygiene.actor_label', true), ''),
        lower(op), tbl, obj_id, old_row, new_row, changed,
        COALESCE(ctx::jsonb, '{}'::jsonb), '', ''
    );
END;
$$;
""".replace("%(sensitive)s", ", ".join(f"'{column}'" for column in SENSITIVE_COLUMNS))

TRIGGER_BODY = "PERFORM hygiene_audit_write(TG_TABLE_NAME, TG_OP, to_jsonb(OLD), to_jsonb(NEW)); RETURN NULL;"


def audited() -> pgtrigger.Trigger:
    """The trigger that writes every insert, update and delete of a model's table to the audit log."""
    return pgtrigger.Trigger(
        name="audit",
        when=pgtrigger.After,
        operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
        func=TRIGGER_BODY,
    )


def audit_table_sql(table: str) -> tuple[str, str]:
    """SQL to audit a table we do not own (auth, guardian, django-otp), and to undo it."""
    name = f"hygiene_audit_{table}"
    create = (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql"
        f" AS $$ BEGIN {TRIGGER_BODY} END; $$;"
        f" DROP TRIGGER IF EXISTS {name} ON {table};"
        f" CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON {table}"
        f" FOR EACH ROW EXECUTE FUNCTION {name}();"
    )
    drop = f"DROP TRIGGER IF EXISTS {name} ON {table}; DROP FUNCTION IF EXISTS {name}();"
    return create, drop


# Which team and assets an entry is about, so that the log is scoped like the objects it describes
# (hygiene.selectors.audit_entry_list_for_user). Filled on every insert by a trigger, whoever inserts:
# from the row's copy for row changes, from the event's detail or the current row for events.
AUDIT_SCOPE_FUNCTION = r"""
CREATE OR REPLACE FUNCTION hygiene_audit_id(value text) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value ~ '^[0-9]{1,18}$' THEN value::bigint END
$$;

CREATE OR REPLACE FUNCTION hygiene_audit_scope_of(
    object_type text, object_id text, action text, before jsonb, after jsonb
) RETURNS bigint[] LANGUAGE plpgsql STABLE AS $$
DECLARE
    row jsonb := COALESCE(after, before, '{}'::jsonb);
    old jsonb := COALESCE(before, '{}'::jsonb);
    team bigint;
    asset bigint;
    other bigint;
    model text;
BEGIN
    IF jsonb_typeof(row) <> 'object' THEN
        row := '{}'::jsonb;
    END IF;
    IF jsonb_typeof(old) <> 'object' THEN
        old := '{}'::jsonb;
    END IF;
    -- Events carry a detail, not the row: take the keys from the row as it is now.
    IF action NOT IN ('insert', 'update', 'delete') AND hygiene_audit_id(object_id) IS NOT NULL
       AND object_type ~ '^[a-z0-9_]+$' AND to_regclass(object_type) IS NOT NULL
       AND NOT (row ? 'team_id' OR row ? 'asset_id') THEN
        BEGIN
            EXECUTE format('SELECT to_jsonb(t) FROM %I t WHERE t.id = $1', object_type)
               INTO model USING hygiene_audit_id(object_id);
            IF model IS NOT NULL THEN
                row := model::jsonb || row;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            NULL;  -- a table without an id column: the event stays global
        END;
    END IF;
    IF object_type = 'hygiene_team' THEN
        team := hygiene_audit_id(object_id);
    ELSIF object_type = 'assets_asset' AND action IN ('insert', 'update', 'delete') THEN
        asset := hygiene_audit_id(object_id);
    ELSIF object_type = 'assets_lineageedge' THEN
        asset := hygiene_audit_id(row ->> 'source_id');
        other := hygiene_audit_id(row ->> 'target_id');
    ELSIF object_type IN ('assets_assetuserobjectpermission', 'assets_assetgroupobjectpermission') THEN
        asset := hygiene_audit_id(row ->> 'content_object_id');
    ELSIF object_type IN ('guardian_userobjectpermission', 'guardian_groupobjectpermission') THEN
        SELECT app_label || '.' || ct.model INTO model
          FROM django_content_type ct WHERE ct.id = hygiene_audit_id(row ->> 'content_type_id');
        IF model = 'hygiene.team' THEN
            team := hygiene_audit_id(row ->> 'object_pk');
        ELSIF model = 'assets.asset' THEN
            asset := hygiene_audit_id(row ->> 'object_pk');
        END IF;
    ELSE
        asset := hygiene_audit_id(COALESCE(row ->> 'asset_id', row ->> 'dataset_id'));
        -- Moved from one asset to another: the entry is about both.
        other := hygiene_audit_id(COALESCE(old ->> 'asset_id', old ->> 'dataset_id'));
        IF other IS NOT DISTINCT FROM asset THEN
            other := NULL;
        END IF;
        team := hygiene_audit_id(row ->> 'team_id');
        IF team IS NULL AND jsonb_typeof(row -> 'team') = 'string' THEN
            SELECT t.id INTO team FROM hygiene_team t WHERE t.slug = row ->> 'team';
        END IF;
    END IF;
    IF team IS NULL AND asset IS NOT NULL THEN
        SELECT a.team_id INTO team FROM assets_asset a WHERE a.id = asset;
    END IF;
    RETURN ARRAY[team, asset, other];
END;
$$;

CREATE OR REPLACE FUNCTION hygiene_audit_scope() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    scope bigint[];
BEGIN
    scope := hygiene_audit_scope_of(NEW.object_type, NEW.object_id, NEW.action, NEW.before, NEW.after);
    NEW.scope_team_id := scope[1];
    NEW.scope_asset_id := scope[2];
    NEW.scope_other_asset_id := scope[3];
    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS hygiene_audit_scope ON hygiene_auditentry;
CREATE TRIGGER hygiene_audit_scope BEFORE INSERT ON hygiene_auditentry
    FOR EACH ROW EXECUTE FUNCTION hygiene_audit_scope();
"""

# The second version adds the incident an entry is about (its timeline, affected assets, findings, review,
# checklist, escalations, follow-ups, grants), so that an entry about a restricted incident is as restricted
# as the incident; exercises and their participants and follow-ups are scoped to the exercise's team.
AUDIT_SCOPE_FUNCTION_V2 = r"""
CREATE OR REPLACE FUNCTION hygiene_audit_scope_of(
    object_type text, object_id text, action text, before jsonb, after jsonb
) RETURNS bigint[] LANGUAGE plpgsql STABLE AS $$
DECLARE
    row jsonb := COALESCE(after, before, '{}'::jsonb);
    old jsonb := COALESCE(before, '{}'::jsonb);
    team bigint;
    asset bigint;
    other bigint;
    incident bigint;
    exercise bigint;
    model text;
BEGIN
    IF jsonb_typeof(row) <> 'object' THEN
        row := '{}'::jsonb;
    END IF;
    IF jsonb_typeof(old) <> 'object' THEN
        old := '{}'::jsonb;
    END IF;
    -- Events carry a detail, not the row: take the keys from the row as it is now.
    IF action NOT IN ('insert', 'update', 'delete') AND hygiene_audit_id(object_id) IS NOT NULL
       AND object_type ~ '^[a-z0-9_]+$' AND to_regclass(object_type) IS NOT NULL
       AND NOT (row ? 'team_id' OR row ? 'asset_id' OR row ? 'incident_id') THEN
        BEGIN
            EXECUTE format('SELECT to_jsonb(t) FROM %I t WHERE t.id = $1', object_type)
               INTO model USING hygiene_audit_id(object_id);
            IF model IS NOT NULL THEN
                row := model::jsonb || row;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            NULL;  -- a table without an id column: the event stays global
        END;
    END IF;
    IF object_type = 'hygiene_team' THEN
        team := hygiene_audit_id(object_id);
    ELSIF object_type = 'assets_asset' AND action IN ('insert', 'update', 'delete') THEN
        asset := hygiene_audit_id(object_id);
    ELSIF object_type = 'assets_lineageedge' THEN
        asset := hygiene_audit_id(row ->> 'source_id');
        other := hygiene_audit_id(row ->> 'target_id');
    ELSIF object_type IN ('assets_assetuserobjectpermission', 'assets_assetgroupobjectpermission') THEN
        asset := hygiene_audit_id(row ->> 'content_object_id');
    ELSIF object_type IN ('guardian_userobjectpermission', 'guardian_groupobjectpermission') THEN
        SELECT app_label || '.' || ct.model INTO model
          FROM django_content_type ct WHERE ct.id = hygiene_audit_id(row ->> 'content_type_id');
        IF model = 'hygiene.team' THEN
            team := hygiene_audit_id(row ->> 'object_pk');
        ELSIF model = 'assets.asset' THEN
            asset := hygiene_audit_id(row ->> 'object_pk');
        ELSIF model = 'incidents.incident' THEN
            incident := hygiene_audit_id(row ->> 'object_pk');
        END IF;
    ELSIF object_type = 'incidents_incident' THEN
        incident := hygiene_audit_id(object_id);
        team := hygiene_audit_id(row ->> 'team_id');
    ELSIF object_type LIKE 'incidents\_%' THEN
        incident := hygiene_audit_id(row ->> 'incident_id');
        exercise := hygiene_audit_id(row ->> 'exercise_id');
        asset := hygiene_audit_id(row ->> 'asset_id');
        other := hygiene_audit_id(old ->> 'asset_id');
        IF other IS NOT DISTINCT FROM asset THEN
            other := NULL;
        END IF;
        team := hygiene_audit_id(row ->> 'team_id');
        IF object_type = 'incidents_checklistitem' THEN
            SELECT r.incident_id INTO incident
              FROM incidents_playbookrun r WHERE r.id = hygiene_audit_id(row ->> 'run_id');
        ELSIF object_type = 'incidents_incidentfinding' THEN
            SELECT f.asset_id INTO asset
              FROM findings_finding f WHERE f.id = hygiene_audit_id(row ->> 'finding_id');
        END IF;
        IF incident IS NOT NULL THEN
            SELECT i.team_id INTO team FROM incidents_incident i WHERE i.id = incident;
        ELSIF exercise IS NOT NULL THEN
            SELECT x.team_id INTO team FROM incidents_exercise x WHERE x.id = exercise;
        END IF;
    ELSE
        asset := hygiene_audit_id(COALESCE(row ->> 'asset_id', row ->> 'dataset_id'));
        -- Moved from one asset to another: the entry is about both.
        other := hygiene_audit_id(COALESCE(old ->> 'asset_id', old ->> 'dataset_id'));
        IF other IS NOT DISTINCT FROM asset THEN
            other := NULL;
        END IF;
        team := hygiene_audit_id(row ->> 'team_id');
        IF team IS NULL AND jsonb_typeof(row -> 'team') = 'string' THEN
            SELECT t.id INTO team FROM hygiene_team t WHERE t.slug = row ->> 'team';
        END IF;
    END IF;
    IF incident IS NOT NULL AND team IS NULL THEN
        SELECT i.team_id INTO team FROM incidents_incident i WHERE i.id = incident;
    END IF;
    IF team IS NULL AND asset IS NOT NULL THEN
        SELECT a.team_id INTO team FROM assets_asset a WHERE a.id = asset;
    END IF;
    RETURN ARRAY[team, asset, other, incident];
END;
$$;

CREATE OR REPLACE FUNCTION hygiene_audit_scope() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    scope bigint[];
BEGIN
    scope := hygiene_audit_scope_of(NEW.object_type, NEW.object_id, NEW.action, NEW.before, NEW.after);
    NEW.scope_team_id := scope[1];
    NEW.scope_asset_id := scope[2];
    NEW.scope_other_asset_id := scope[3];
    NEW.scope_incident_id := scope[4];
    RETURN NEW;
END;
$$;
"""

AUDIT_SCOPE_BACKFILL_V2 = """
UPDATE hygiene_auditentry e
   SET scope_team_id = s.scope[1], scope_asset_id = s.scope[2], scope_other_asset_id = s.scope[3],
       scope_incident_id = s.scope[4]
  FROM (SELECT id, hygiene_audit_scope_of(object_type, object_id, action, before, after) AS scope
          FROM hygiene_auditentry WHERE object_type LIKE 'incidents\\_%' OR object_type LIKE 'guardian\\_%') s
 WHERE s.id = e.id;
"""

AUDIT_SCOPE_BACKFILL = """
UPDATE hygiene_auditentry e
   SET scope_team_id = s.scope[1], scope_asset_id = s.scope[2], scope_other_asset_id = s.scope[3]
  FROM (SELECT id, hygiene_audit_scope_of(object_type, object_id, action, before, after) AS scope
          FROM hygiene_auditentry) s
 WHERE s.id = e.id;
"""

AUDIT_SCOPE_DROP = """
DROP TRIGGER IF EXISTS hygiene_audit_scope ON hygiene_auditentry;
DROP FUNCTION IF EXISTS hygiene_audit_scope();
DROP FUNCTION IF EXISTS hygiene_audit_scope_of(text, text, text, jsonb, jsonb);
DROP FUNCTION IF EXISTS hygiene_audit_id(text);
"""


# The audit table is append-only for everyone but its owner's DDL: plain triggers with no escape
# hatch (pgtrigger's own obey the ``pgtrigger.ignore`` session variable, which any session may set).
# Sealing fills seq/prev_hash/hash of unsealed entries once; nothing else may change.
AUDIT_PROTECTION = """
CREATE OR REPLACE FUNCTION hygiene_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.hash = '' AND OLD.seq IS NULL
       AND (to_jsonb(NEW) - ARRAY['seq', 'prev_hash', 'hash'])
           IS NOT DISTINCT FROM (to_jsonb(OLD) - ARRAY['seq', 'prev_hash', 'hash']) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;

DROP TRIGGER IF EXISTS hygiene_audit_append_only ON hygiene_auditentry;
CREATE TRIGGER hygiene_audit_append_only BEFORE UPDATE OR DELETE ON hygiene_auditentry
    FOR EACH ROW EXECUTE FUNCTION hygiene_audit_append_only();
-- TRUNCATE is refused by privilege (app_role_grants_sql), not by trigger: the owner's test suite
-- and operators' restores must still be able to empty the table.

-- Sealing, for an application role that may only INSERT and SELECT the table: runs as the owner,
-- and only continues the chain from its head onto entries not sealed yet.
CREATE OR REPLACE FUNCTION hygiene_audit_seal_apply(
    ids bigint[], seqs bigint[], prevs text[], hashes text[]
) RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    head_seq bigint;
    head_hash text;
    sealed integer;
BEGIN
    IF cardinality(ids) = 0 THEN
        RETURN 0;
    END IF;
    IF cardinality(seqs) <> cardinality(ids) OR cardinality(prevs) <> cardinality(ids)
       OR cardinality(hashes) <> cardinality(ids) THEN
        RAISE EXCEPTION 'seal arrays differ in length';
    END IF;
    SELECT e.seq, e.hash INTO head_seq, head_hash
      FROM hygiene_auditentry e WHERE e.seq IS NOT NULL ORDER BY e.seq DESC LIMIT 1;
    IF seqs[1] <> COALESCE(head_seq, 0) + 1 OR prevs[1] <> COALESCE(head_hash, repeat('0', 64)) THEN
        RAISE EXCEPTION 'the seal does not continue the chain';
    END IF;
    FOR i IN 2 .. cardinality(ids) LOOP
        IF seqs[i] <> seqs[i - 1] + 1 OR prevs[i] <> hashes[i - 1] THEN
            RAISE EXCEPTION 'the seal is not one chain';
        END IF;
    END LOOP;
    UPDATE hygiene_auditentry e SET seq = v.seq, prev_hash = v.prev, hash = v.hash
      FROM unnest(ids, seqs, prevs, hashes) AS v(id, seq, prev, hash)
     WHERE e.id = v.id AND e.seq IS NULL AND e.hash = '';
    GET DIAGNOSTICS sealed = ROW_COUNT;
    IF sealed <> cardinality(ids) THEN
        RAISE EXCEPTION 'only entries not sealed yet can be sealed';
    END IF;
    RETURN sealed;
END;
$$;
"""

AUDIT_PROTECTION_DROP = """
DROP TRIGGER IF EXISTS hygiene_audit_append_only ON hygiene_auditentry;
DROP FUNCTION IF EXISTS hygiene_audit_append_only();
DROP FUNCTION IF EXISTS hygiene_audit_seal_apply(bigint[], bigint[], text[], text[]);
"""


def app_role_grants_sql(role: str) -> str:
    """What the application's database role may do: everything on the data, INSERT and SELECT on the log.

    Migrations run as the owner; the web server, worker and beat connect as ``role``, which cannot
    rewrite, delete or truncate audit entries, nor disable triggers (only owners may).
    """
    quoted = '"' + role.replace('"', '""') + '"'
    return f"""
GRANT USAGE ON SCHEMA public TO {quoted};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted};
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {quoted};
REVOKE ALL ON hygiene_auditentry FROM PUBLIC;
REVOKE ALL ON hygiene_auditentry FROM {quoted};
GRANT SELECT, INSERT ON hygiene_auditentry TO {quoted};
REVOKE ALL ON FUNCTION hygiene_audit_seal_apply(bigint[], bigint[], text[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hygiene_audit_seal_apply(bigint[], bigint[], text[], text[]) TO {quoted};
"""


# pgtrigger's triggers (the audit capture of every governed table among them) skip themselves when a
# session names them in the ``pgtrigger.ignore`` variable. Its check function is redefined so that the
# capture triggers (``audited()``: pgtrigger_audit_*) are never skipped. pgtrigger recreates the
# function whenever a migration installs a trigger, so hygiene re-applies this after every migrate.
AUDIT_CAPTURE_NOT_IGNORABLE = r"""
CREATE OR REPLACE FUNCTION public._pgtrigger_should_ignore(trigger_name NAME) RETURNS BOOLEAN AS $$
DECLARE
    _pgtrigger_ignore TEXT[];
BEGIN
    IF trigger_name LIKE 'pgtrigger\_audit\_%' THEN
        RETURN FALSE;  -- hygiene: the audit log's capture cannot be switched off by a session
    END IF;
    BEGIN
        SELECT INTO _pgtrigger_ignore CURRENT_SETTING('pgtrigger.ignore');
        EXCEPTION WHEN OTHERS THEN
    END;
    IF _pgtrigger_ignore IS NOT NULL THEN
        RETURN trigger_name = ANY(_pgtrigger_ignore);
    END IF;
    RETURN FALSE;
END;
$$ LANGUAGE plpgsql;
"""
