# Fusionbot image: the wheel (not an editable checkout) and its locked dependencies in a virtual environment,
# run as an unprivileged user, with the database on the /data volume.
#
#   docker build -t fusionbot .
#   docker run --env-file .env -v fusionbot-data:/data fusionbot
#
# Only python3 and its venv module are used from the base image, so a Debian bookworm with python3-venv works
# in its place (the README's "Running in production" says how to build without a registry).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- the wheel, built from the sources alone -------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS wheel
WORKDIR /src
RUN python3 -m venv /opt/build
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
COPY migrations ./migrations
RUN /opt/build/bin/python -m pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

# --- the image that runs -----------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/fusionbot/bin:$PATH \
    DATABASE_URL=sqlite:////data/fusionbot.sqlite3

RUN useradd --create-home --uid 10001 fusionbot \
    && mkdir /data && chown fusionbot:fusionbot /data \
    && python3 -m venv /opt/fusionbot

# The dependencies exactly as locked (versions and hashes), in a layer of their own: a change of the code does not
# download them again, only a change of requirements.lock does.
COPY requirements.lock /tmp/requirements.lock
RUN python3 -m pip install --require-hashes --no-deps -r /tmp/requirements.lock && rm /tmp/requirements.lock

# The application, without dependencies of its own; pip check fails the build if the lock misses one it needs.
COPY --from=wheel /dist/ /tmp/dist/
RUN python3 -m pip install --no-deps /tmp/dist/*.whl && rm -r /tmp/dist && python3 -m pip check

USER fusionbot
WORKDIR /home/fusionbot
VOLUME ["/data"]

# The bot's endpoint for Prometheus and the checks (the README's "Monitoring"): on every address of the container,
# which only its own network reaches unless the port is published (-p 9108:9108).
ENV METRICS_PORT=9108 \
    METRICS_HOST=0.0.0.0
EXPOSE 9108

# Healthy: /healthz answers 200, which it does while the event loop answers within HEALTH_MAX_LAG_SECONDS (a loop
# blocked past the time-out gets no answer at all, a failure too). The standard library only: the image has no curl.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["python3", "-c", "\
import os, sys, urllib.request\n\
port, host = os.environ.get('METRICS_PORT', ''), os.environ.get('METRICS_HOST', '')\n\
if not port:\n\
    sys.exit('METRICS_PORT is unset: the health check needs the endpoint')\n\
host = '127.0.0.1' if host in ('', '0.0.0.0', '::') else host\n\
try:\n\
    urllib.request.urlopen(f'http://{host}:{port}/healthz', timeout=8)\n\
except Exception as error:\n\
    sys.exit(f'unhealthy: {error}')\n\
"]

CMD ["python3", "-m", "bot"]
