"""docker-compose.yml parses, names every service, publishes on localhost only and reads credentials from .env.

Docker itself is not run here (no engine on the build machine); see docs/orchestration.md.
"""

from __future__ import annotations

import re

import yaml

from hrl_sarp.config import REPO_ROOT

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_every_service_is_named():
    assert set(SERVICES) == {"postgres", "prefect-server", "mlflow", "worker"}


def test_ports_are_published_on_localhost_only():
    published = [port for service in SERVICES.values() for port in service.get("ports", [])]
    assert len(published) == 2
    assert all(re.fullmatch(r"127\.0\.0\.1:\$\{[A-Z_]+:-\d+\}:\d+", port) for port in published), published
    assert "ports" not in SERVICES["postgres"]


def test_credentials_come_from_the_untracked_env_file():
    assert all(service.get("env_file") == ".env" for service in SERVICES.values())
    assert ".env" in (REPO_ROOT / ".gitignore").read_text().splitlines()
    example = dict(
        line.split("=", 1)
        for line in (REPO_ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    text = (REPO_ROOT / "docker-compose.yml").read_text()
    for name in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"):
        assert name in example
    assert "${POSTGRES_PASSWORD}" in text
    # No literal password anywhere in the compose file.
    assert example["POSTGRES_PASSWORD"] not in text


def test_prefect_server_is_postgres_backed_and_worker_uses_the_project_image():
    server_env = SERVICES["prefect-server"]["environment"]
    assert server_env["PREFECT_API_DATABASE_CONNECTION_URL"].startswith("postgresql+asyncpg://")
    assert SERVICES["prefect-server"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    worker = SERVICES["worker"]
    assert worker["build"] == "."
    assert (REPO_ROOT / "Dockerfile").exists()
    assert worker["environment"]["PREFECT_API_URL"] == "http://prefect-server:4200/api"
    assert "hrl-sarp-process" in " ".join(worker["command"])


def test_volumes_hold_warehouse_and_artifacts():
    assert {"warehouse", "artifacts", "results", "postgres-data", "mlflow-data"} <= set(COMPOSE["volumes"])
    mounts = {m.split(":")[0]: m.split(":")[1] for m in SERVICES["worker"]["volumes"]}
    assert mounts["warehouse"] + "/hrl_sarp.duckdb" == SERVICES["worker"]["environment"]["HRL_SARP_WAREHOUSE"]
    assert mounts["artifacts"] == dict(m.split(":")[:2] for m in SERVICES["mlflow"]["volumes"])["artifacts"]


def test_dockerfile_follows_the_makefile_install_path():
    lines = (REPO_ROOT / "Dockerfile").read_text().splitlines()
    torch = next(i for i, line in enumerate(lines) if "torch==2.13.0" in line)
    project = next(i for i, line in enumerate(lines) if "pip install -e '.[" in line and "dask" in line)
    assert torch < project


def test_mlflow_runs_without_its_background_job_runner():
    assert SERVICES["mlflow"]["environment"]["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    assert "MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false" in (REPO_ROOT / "scripts" / "stack_up.sh").read_text()
