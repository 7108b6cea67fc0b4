# hygiene: one image for the web server, the Celery worker, beat and migrations (docker/entrypoint.sh).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=hygiene.settings.production \
    MEDIA_ROOT=/app/media \
    STATIC_ROOT=/app/staticfiles

RUN groupadd --system --gid 10001 hygiene \
    && useradd --system --uid 10001 --gid hygiene --home-dir /app --shell /usr/sbin/nologin hygiene

WORKDIR /app

# Dependencies first, from the pinned list in pyproject.toml, so code changes reuse this layer.
COPY pyproject.toml ./
RUN pip install .

COPY --chown=hygiene:hygiene . .

# Static files are collected into the image; the key and URLs here exist only for this build step.
RUN SECRET_KEY=build-only-collectstatic-key-never-used-at-run-time-0123456789abcdef \
    DATABASE_URL=postgres://build@127.0.0.1:5432/build \
    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \
    ALLOWED_HOSTS=build.invalid \
    python manage.py collectstatic --noinput -v 0 \
    && mkdir -p /app/media /app/audit-anchor \
    && chown -R hygiene:hygiene /app/media /app/audit-anchor /app/staticfiles

USER hygiene
EXPOSE 8000
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["web"]
