#!/usr/bin/env bash
# Production-shaped smoke test: the production settings on the machine's own PostgreSQL and Redis,
# gunicorn serving, a Celery worker and beat as separate processes, a task through Redis whose result
# lands in PostgreSQL, and a clean shutdown.
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth) and Redis on 127.0.0.1:6379, and
# the project's venv (`make install`). Creates a throwaway database and drops it afterwards.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=${HYGIENE_VENV:-$ROOT/.venv}/bin
PY=$BIN/python
SHARED_DIR=${HYGIENE_SHARED_DIR:-$ROOT/../shared}
PG=(psql -h 127.0.0.1 -p 5432 -U postgres -v ON_ERROR_STOP=1 -qtA)
WAIT_SECONDS=60

WORK=$(mktemp -d /tmp/hygiene-smoke.XXXXXX)
SUFFIX=$("$PY" -c 'import secrets; print(secrets.token_hex(4))')
DB=hygiene_smoke_$SUFFIX
CHECKS=0
GUNICORN_PID="" WORKER_PID="" BEAT_PID="" DB_CREATED=""

step() { printf '\n== %s\n' "$*"; }
ok() { CHECKS=$((CHECKS + 1)); printf '  ok  %s\n' "$*"; }
show_logs() {
    for name in gunicorn worker beat; do
        if [[ -s $WORK/$name.log ]]; then
            printf '\n---- last lines of %s.log ----\n' "$name"
            tail -n 60 "$WORK/$name.log"
        fi
    done
}
fail() {
    printf '  FAIL %s\n' "$*" >&2
    show_logs >&2
    exit 1
}
alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

cleanup() {
    local status=$?
    for pid in $GUNICORN_PID $WORKER_PID $BEAT_PID; do
        if alive "$pid"; then
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    for pid in $GUNICORN_PID $WORKER_PID $BEAT_PID; do
        for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.2; done
        if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
    if [[ -n $DB_CREATED ]]; then
        "${PG[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Wait up to $1 seconds for the command after it to succeed.
wait_for() {
    local seconds=$1
    shift
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}
manage() { "$PY" manage.py "$@"; }
sql() { "${PG[@]}" -d "$DB" -c "$1"; }

step "PostgreSQL and Redis answer; a fresh database"
"${PG[@]}" -d postgres -c "SELECT 1" >/dev/null || fail "PostgreSQL does not answer on 127.0.0.1:5432"
ok "PostgreSQL answers on 127.0.0.1:5432"
[[ $(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null) == PONG ]] || fail "Redis does not answer on 127.0.0.1:6379"
ok "Redis answers on 127.0.0.1:6379"
"${PG[@]}" -d postgres -c "CREATE DATABASE $DB" >/dev/null
DB_CREATED=1
ok "created database $DB"

REDIS_DB=$("$PY" -c 'import secrets; print(1 + secrets.randbelow(15))')
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE_URL=http://127.0.0.1:$PORT
export DJANGO_SETTINGS_MODULE=hygiene.settings.production
export DEBUG=0
SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(64))')
export SECRET_KEY
export ALLOWED_HOSTS=127.0.0.1,localhost
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB
export CELERY_BROKER_URL=redis://127.0.0.1:6379/$REDIS_DB
# A queue of its own, so no other worker on this machine takes the smoke test's tasks.
export CELERY_QUEUE=hygiene-smoke-$SUFFIX
export MEDIA_ROOT=$WORK/media
export STATIC_ROOT=$WORK/static
export HYGIENE_EMBEDDED=0
unset HYGIENE_DB_NAME CELERY_RESULT_BACKEND
mkdir -p "$MEDIA_ROOT"

step "Deployment checks with the real production defaults (HTTPS redirect, HSTS, secure cookies)"
manage check --deploy --fail-level WARNING || fail "manage.py check --deploy reported problems"
ok "check --deploy --fail-level WARNING passes"

step "Migrate and collect static files"
manage migrate --noinput -v 0 || fail "migrate failed"
ok "migrations applied"
manage migrate --check -v 0 >/dev/null 2>&1 || fail "unapplied migrations remain"
manage makemigrations --check --dry-run -v 0 >/dev/null || fail "models have changes without migrations"
ok "no model change lacks a migration"
manage collectstatic --noinput -v 0 || fail "collectstatic failed"
[[ -f $STATIC_ROOT/staticfiles.json ]] || fail "collectstatic wrote no manifest"
ok "static files collected with a manifest into $STATIC_ROOT"

step "Start gunicorn, a Celery worker and Celery beat as separate processes"
# Plain HTTP on loopback here only: production keeps the redirect to HTTPS on.
SECURE_SSL_REDIRECT=0 "$BIN/gunicorn" hygiene.wsgi -c docker/gunicorn.conf.py \
    --bind "127.0.0.1:$PORT" --workers 2 --threads 2 >"$WORK/gunicorn.log" 2>&1 &
GUNICORN_PID=$!
"$PY" -m celery -A hygiene worker -Q "$CELERY_QUEUE" --concurrency 2 --loglevel INFO \
    --hostname "smoke-$SUFFIX@%h" >"$WORK/worker.log" 2>&1 &
WORKER_PID=$!
"$PY" -m celery -A hygiene beat --loglevel INFO --schedule "$WORK/celerybeat-schedule" \
    >"$WORK/beat.log" 2>&1 &
BEAT_PID=$!
BEAT_STARTED=$SECONDS
wait_for 30 curl -fsS "$BASE_URL/health/" || fail "gunicorn did not answer /health/ within 30 s"
ok "gunicorn answers on $BASE_URL (pid $GUNICORN_PID)"
wait_for 30 grep -q "ready" "$WORK/worker.log" || fail "the worker did not become ready within 30 s"
ok "worker ready on queue $CELERY_QUEUE (pid $WORKER_PID)"
alive "$BEAT_PID" || fail "beat exited"
ok "beat running (pid $BEAT_PID)"

step "Pages and static files through gunicorn and WhiteNoise"
status=$(curl -sS -o "$WORK/health.txt" -w '%{http_code}' "$BASE_URL/health/")
[[ $status == 200 && $(cat "$WORK/health.txt") == ok ]] || fail "GET /health/ gave $status"
ok "GET /health/ is 200 ok"
status=$(curl -sS -D "$WORK/login.headers" -o "$WORK/login.html" -w '%{http_code}' "$BASE_URL/accounts/login/")
[[ $status == 200 ]] || fail "GET /accounts/login/ gave $status"
ok "GET /accounts/login/ is 200"
grep -qi "^content-security-policy:.*default-src 'self'" "$WORK/login.headers" \
    || fail "the login page has no Content-Security-Policy with default-src 'self'"
grep -qi "^x-frame-options: deny" "$WORK/login.headers" || fail "no X-Frame-Options: DENY"
ok "CSP and X-Frame-Options headers are sent"
# Behind the TLS proxy: the request counts as secure, so HSTS is sent and cookies are Secure.
curl -sS -o /dev/null -D "$WORK/proxied.headers" -H 'X-Forwarded-Proto: https' "$BASE_URL/accounts/login/"
grep -qi "^strict-transport-security: max-age=[1-9]" "$WORK/proxied.headers" \
    || fail "no Strict-Transport-Security header on a request the proxy marks as HTTPS"
grep -i "^set-cookie: csrftoken=" "$WORK/proxied.headers" | grep -qi "; secure" \
    || fail "the CSRF cookie is not marked Secure"
ok "behind the HTTPS proxy: HSTS sent, CSRF cookie Secure"
"$PY" scripts/check_page_offline.py "$WORK/login.html" || fail "the login page refers to another site"
ok "the login page loads nothing from another site and has no inline script"
for asset in vendor/plotly.min.js css/app.css; do
    status=$(curl -sS -o /dev/null -D "$WORK/static.headers" -w '%{http_code}' "$BASE_URL/static/$asset")
    [[ $status == 200 ]] || fail "GET /static/$asset gave $status"
    ok "GET /static/$asset is 200"
done
hashed=$(grep -o '/static/css/app\.[0-9a-f]*\.css' "$WORK/login.html" | head -n 1)
[[ -n $hashed ]] || fail "the page does not link a hashed app.css (manifest storage not in use)"
curl -sS -o /dev/null -D "$WORK/static.headers" -H 'Accept-Encoding: gzip' "$BASE_URL$hashed"
grep -qi "^cache-control:.*immutable" "$WORK/static.headers" || fail "$hashed is not served as immutable"
grep -qi "^content-encoding: gzip" "$WORK/static.headers" || fail "$hashed is not served compressed"
ok "$hashed is served compressed and cached for good by WhiteNoise"
status=$(curl -sS -o "$WORK/schema.yaml" -w '%{http_code}' "$BASE_URL/api/v1/schema/")
[[ $status == 200 ]] && grep -q "^openapi: 3" "$WORK/schema.yaml" || fail "GET /api/v1/schema/ gave $status"
ok "GET /api/v1/schema/ serves the OpenAPI 3 schema"
status=$(curl -sS -o /dev/null -w '%{http_code}' "$BASE_URL/api/v1/me/")
[[ $status == 401 || $status == 403 ]] || fail "GET /api/v1/me/ answered $status without credentials"
ok "the API refuses anonymous requests ($status)"

step "A user, and an API token obtained over HTTP"
PASSWORD=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(18))')
export SMOKE_PASSWORD=$PASSWORD
manage shell -c "
import os
from hygiene.models import Membership, Team, TeamRole
from hygiene.roles import SECURITY_LEAD
from hygiene.services.audit import actor_context
from hygiene.services.teams import user_create
with actor_context(actor_id=None, actor_label='smoke', context={'command': 'smoke'}):
    user = user_create(username='smoke', email='smoke@example.org', password=os.environ['SMOKE_PASSWORD'],
                       role=SECURITY_LEAD, access_expires_at=None)
    team = Team.objects.create(name='Smoke', slug='smoke', function='platform')
    Membership.objects.create(team=team, user=user, role=TeamRole.LEAD)
" || fail "could not create the smoke user"
unset SMOKE_PASSWORD
ok "created user smoke (security lead, lead of team smoke)"
EXPIRES=$("$PY" -c 'import datetime as d; print((d.datetime.now(d.UTC) + d.timedelta(days=1)).isoformat())')
jq -n --arg p "$PASSWORD" --arg e "$EXPIRES" \
    '{username: "smoke", password: $p, name: "smoke pipeline", team: "smoke",
      actions: ["read", "write", "scans:push"], expires_at: $e}' >"$WORK/token-request.json"
status=$(curl -sS -o "$WORK/token.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data @"$WORK/token-request.json" "$BASE_URL/api/v1/auth/token/")
[[ $status == 201 ]] || fail "POST /api/v1/auth/token/ gave $status: $(cat "$WORK/token.json")"
TOKEN=$(jq -r .token "$WORK/token.json")
[[ $TOKEN == hyg_* ]] || fail "the token response carries no token"
ok "POST /api/v1/auth/token/ issued a token"
me=$(curl -fsS -H "Authorization: Token $TOKEN" "$BASE_URL/api/v1/me/" | jq -r .username)
[[ $me == smoke ]] || fail "GET /api/v1/me/ with the token did not name the user"
ok "GET /api/v1/me/ with the token answers for smoke"

step "A task sent through Redis; its result lands in PostgreSQL"
# An audited change (the trigger writes an unsealed entry), then the task that seals it.
ENTRY_ID=$(manage shell -c "
from hygiene.models import AuditEntry, Team
from hygiene.services.audit import actor_context
from hygiene.tasks import seal_audit_log
with actor_context(actor_id=None, actor_label='smoke', context={'command': 'smoke'}):
    Team.objects.filter(slug='smoke').update(description='Checked by the production smoke test.')
entry = AuditEntry.objects.filter(object_type='hygiene_team', action='update').latest('id')
assert entry.seq is None, 'the new entry is sealed already'
seal_audit_log.delay()
print(entry.pk)
" | tail -n 1) || fail "could not change a team and send seal_audit_log"
ok "changed team smoke (audit entry #$ENTRY_ID, unsealed) and sent seal_audit_log"
entry_sealed() { [[ $(sql "SELECT seq IS NOT NULL FROM hygiene_auditentry WHERE id = $ENTRY_ID") == t ]]; }
wait_for "$WAIT_SECONDS" entry_sealed || fail "the worker did not seal entry #$ENTRY_ID within ${WAIT_SECONDS} s"
sealed=$(sql "SELECT count(*) FROM hygiene_auditentry WHERE seq IS NOT NULL")
ok "the worker sealed entry #$ENTRY_ID: $sealed entries chained in PostgreSQL"

if grep -q "def run_import_job" findings/tasks.py 2>/dev/null \
    && manage shell -c "from django.urls import resolve; resolve('/api/v1/scans/')" >/dev/null 2>&1; then
    step "A real Trivy scan pushed through the API, imported by the worker"
    SCAN=$SHARED_DIR/scans/trivy/scheme_2_many_vulns.json
    [[ -f $SCAN ]] || fail "no scan sample at $SCAN"
    ASSET_ID=$(manage shell -c "
from assets.models import Asset
from hygiene.models import Team
from hygiene.services.audit import actor_context
with actor_context(actor_id=None, actor_label='smoke', context={'command': 'smoke'}):
    asset = Asset.objects.create(team=Team.objects.get(slug='smoke'), name='smoke-image', kind='container_image')
print(asset.pk)
" | tail -n 1) || fail "could not create the smoke asset"
    ok "created asset smoke-image (#$ASSET_ID)"
    status=$(curl -sS -o "$WORK/job.json" -w '%{http_code}' -H "Authorization: Token $TOKEN" \
        -F "file=@$SCAN" -F "asset=$ASSET_ID" "$BASE_URL/api/v1/scans/")
    [[ $status == 202 ]] || fail "POST /api/v1/scans/ gave $status: $(cat "$WORK/job.json")"
    JOB_ID=$(jq -r .id "$WORK/job.json")
    ok "POST /api/v1/scans/ accepted $(basename "$SCAN") as job $JOB_ID"
    job_finished() {
        curl -fsS -H "Authorization: Token $TOKEN" "$BASE_URL/api/v1/scans/$JOB_ID/" >"$WORK/job.json"
        [[ $(jq -r .status "$WORK/job.json") == done || $(jq -r .status "$WORK/job.json") == failed ]]
    }
    wait_for "$WAIT_SECONDS" job_finished || fail "job $JOB_ID did not finish within ${WAIT_SECONDS} s"
    [[ $(jq -r .status "$WORK/job.json") == done ]] || fail "job $JOB_ID failed: $(jq -r .error "$WORK/job.json")"
    findings=$(sql "SELECT count(*) FROM findings_finding WHERE asset_id = $ASSET_ID")
    new_count=$(jq -r .new_count "$WORK/job.json")
    ((findings > 0)) || fail "job $JOB_ID is done but wrote no findings"
    [[ $findings == "$new_count" ]] || fail "job $JOB_ID reports $new_count new findings, PostgreSQL holds $findings"
    ok "the worker finished job $JOB_ID: $findings new findings in PostgreSQL"
    sha=$(jq -r .sha256 "$WORK/job.json")
    [[ $sha == $(sha256sum "$SCAN" | cut -d' ' -f1) ]] || fail "the job's SHA-256 is not the file's"
    [[ -n $(find "$MEDIA_ROOT" -type f -size "$(stat -c %s "$SCAN")c") ]] || fail "the raw file is not in MEDIA_ROOT"
    ok "the raw file is kept in MEDIA_ROOT with its SHA-256"
else
    step "Scan push skipped: the findings pipeline (run_import_job, /api/v1/scans/) is not in this tree"
fi

step "Beat schedules the sealing on its own"
beat_sent() { grep -q "Sending due task seal-audit-log" "$WORK/beat.log"; }
wait_for $((SECONDS - BEAT_STARTED < 44 ? 45 - (SECONDS - BEAT_STARTED) : 1)) beat_sent || fail "beat sent no seal-audit-log task within 45 s"
ok "beat sent seal-audit-log through Redis"

step "The audit log verifies"
manage verify_audit_log || fail "verify_audit_log failed"
ok "verify_audit_log passes"

step "Clean shutdown on SIGTERM"
kill -TERM "$GUNICORN_PID" "$WORKER_PID" "$BEAT_PID"
for name in GUNICORN WORKER BEAT; do
    pid_var=${name}_PID
    pid=${!pid_var}
    deadline=$((SECONDS + 30))
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
    alive "$pid" && fail "${name,,} (pid $pid) still runs 30 s after SIGTERM"
    wait "$pid" 2>/dev/null || true
    ok "${name,,} exited"
done
grep -qi "Traceback" "$WORK/worker.log" "$WORK/beat.log" "$WORK/gunicorn.log" \
    && fail "a traceback was logged"
ok "no traceback in the gunicorn, worker or beat logs"
GUNICORN_PID="" WORKER_PID="" BEAT_PID=""

"${PG[@]}" -d postgres -c "DROP DATABASE $DB WITH (FORCE)" >/dev/null
DB_CREATED=""
ok "dropped database $DB"
printf '\nsmoke: %d checks passed, 0 failed\n' "$CHECKS"
