# Fusionbot image: slim Python, a non-root user, the database on a volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATABASE_URL=sqlite:////data/fusionbot.sqlite3

RUN useradd --create-home --uid 10001 fusionbot \
    && mkdir /data && chown fusionbot:fusionbot /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
COPY migrations ./migrations
# Editable, so the code runs from /app and finds migrations/ beside it.
RUN pip install -e .

USER fusionbot
VOLUME ["/data"]
CMD ["python", "-m", "bot"]
