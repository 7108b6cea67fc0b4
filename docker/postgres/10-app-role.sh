#!/bin/sh
# Runs once, when the database volume is first initialised: the role the web server, worker and beat
# connect as. It owns nothing; `migrate` (as the owner) grants it the data, and only INSERT and
# SELECT on the audit log, which it can therefore neither rewrite nor delete nor unprotect.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v app_password="$POSTGRES_APP_PASSWORD" <<'SQL'
CREATE ROLE hygiene_app LOGIN PASSWORD :'app_password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
SQL
