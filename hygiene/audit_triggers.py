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
