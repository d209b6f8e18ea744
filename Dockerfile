# Spread API image. Build: docker build -t spread .
# Run:   docker run -e DATABASE_URL=postgresql://user:pass@db:5432/spread -p 8000:8000 spread
# Migrate first (never on start-up): docker run --rm -e DATABASE_URL=... spread spread migrate
#
# Installs exactly uv.lock (the same versions CI tested), without the dev extra.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
WORKDIR /src
# Keep in step with UV_VERSION in dev.py.
RUN pip install uv==0.13.9
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-install-project --no-editable
COPY service ./service
RUN uv sync --locked --no-editable

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SPREAD_HOST=0.0.0.0 \
    SPREAD_PORT=8000 \
    SPREAD_EMBEDDED=false \
    SPREAD_MIGRATIONS_DIR=/app/migrations
RUN useradd --system --uid 10001 --home-dir /app spread
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY migrations ./migrations
COPY alembic.ini ./
USER spread
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=2).status == 200 else 1)"
CMD ["spread", "serve"]
