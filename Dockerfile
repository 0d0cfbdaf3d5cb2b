# One image for both processes: `agentbox-telemetry ingest --watch` and `agentbox-telemetry serve`.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    TELEMETRY_DB_URL=sqlite:////data/telemetry.sqlite \
    TELEMETRY_ADDRESS=0.0.0.0 TELEMETRY_PORT=8501
WORKDIR /app
COPY pyproject.toml README.md LICENSE alembic.ini ./
COPY ingestor ingestor
COPY webapp webapp
COPY migrations migrations
RUN pip install --no-cache-dir . && useradd --create-home telemetry && mkdir /data \
    && chown telemetry /data
USER telemetry
VOLUME ["/data"]
EXPOSE 8501
CMD ["agentbox-telemetry", "serve"]
