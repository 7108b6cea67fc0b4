#!/bin/sh
# One image, four roles: `web`, `worker`, `beat`, `migrate`; anything else runs as given.
set -eu

case "${1:-web}" in
    web)
        exec gunicorn hygiene.wsgi -c /app/docker/gunicorn.conf.py
        ;;
    worker)
        exec celery -A hygiene worker --queues "${CELERY_QUEUE:-hygiene}" \
            --concurrency "${CELERY_CONCURRENCY:-2}" --loglevel "${LOG_LEVEL:-INFO}"
        ;;
    beat)
        # The schedule file only remembers last run times; it may be lost with the container.
        exec celery -A hygiene beat --schedule /tmp/celerybeat-schedule --loglevel "${LOG_LEVEL:-INFO}"
        ;;
    migrate)
        python manage.py migrate --noinput
        if [ -n "${HYGIENE_DB_APP_ROLE:-}" ]; then
            python manage.py grant_app_role "$HYGIENE_DB_APP_ROLE"
        fi
        exec python manage.py check --deploy --fail-level WARNING
        ;;
    *)
        exec "$@"
        ;;
esac
