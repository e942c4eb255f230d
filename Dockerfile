# HRL-SARP worker image: the same install path as the Makefile (CPU torch first, then the project with Dask extras).
FROM python:3.11-slim

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    DO_NOT_TRACK=1 \
    PREFECT_HOME=/app/.prefect

WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends curl git && rm -rf /var/lib/apt/lists/*

# 1) torch CPU build first, so no dependency can pull a CUDA build (Makefile: pip install torch==2.13.0).
RUN python -m pip install --upgrade pip && python -m pip install torch==2.13.0 --index-url "$TORCH_INDEX_URL"

# 2) the project, editable, with the Dask extras (Makefile: pip install -e '.[dev,yfinance,dask]').
COPY pyproject.toml README.md ./
COPY hrl_sarp ./hrl_sarp
COPY schemas ./schemas
COPY tasks ./tasks
COPY flows ./flows
COPY deployments ./deployments
COPY config ./config
COPY warehouse/migrations ./warehouse/migrations
COPY scripts ./scripts
RUN python -m pip install -e '.[yfinance,dask]'

# Warehouse and MLflow artifacts live on volumes (see docker-compose.yml).
RUN mkdir -p /app/warehouse /app/mlruns/artifacts /app/.prefect
CMD ["prefect", "worker", "start", "--pool", "hrl-sarp-process", "--type", "process"]
