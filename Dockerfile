# One image for every process: web (the default command), worker, beat and migrate only
# change the command (see docker-compose.yml).

# The pages' JavaScript (htmx) from npm, exactly as package-lock.json pins it; only the built
# file reaches the image.
FROM node:20-slim AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim

# PYTHONPATH: pip also installs the project into site-packages, but the settings derive
# BASE_DIR (templates, static, locale) from their own path, so the source tree in /app must be
# the copy that gets imported.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=config.settings.production

WORKDIR /app

# Dependencies first, in their own layer: a code-only change rebuilds in seconds instead of
# downloading every wheel again. The list comes from pyproject.toml, so it cannot drift.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
COPY --from=assets /assets/node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
RUN pip install -c constraints.txt .

# Build-time values only satisfy the production settings' checks, neither command connects
# to anything; they are scoped to this RUN so that none of them reaches the final image.
RUN DJANGO_SECRET_KEY=build-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz \
    DJANGO_ALLOWED_HOSTS=build.invalid \
    PUNTUAL_BASE_URL=https://build.invalid \
    DATABASE_URL=postgres://build@build.invalid:5432/build \
    CELERY_BROKER_URL=redis://build.invalid:6379/0 \
    sh -c "python manage.py compile_translations && python manage.py collectstatic --noinput"

# Code and collected static files stay root-owned and read-only for the process; only var/
# (runtime scratch such as a default beat schedule) is writable by it.
RUN useradd --create-home --uid 10001 --user-group puntual \
    && mkdir -p /app/var \
    && chown puntual:puntual /app/var
USER puntual

EXPOSE 8000

# No HEALTHCHECK here: worker and beat share this image and serve no HTTP; docker-compose.yml
# probes /healthz on the web service only.
# A shell expands WEB_CONCURRENCY at start; exec makes gunicorn PID 1 so it gets SIGTERM.
CMD ["sh", "-c", "exec gunicorn config.wsgi:application --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-3}"]
