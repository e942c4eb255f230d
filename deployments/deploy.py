"""Deployments of the HRL-SARP flows: cron schedules in Asia/Kolkata on the process work pool ``hrl-sarp-process``.

``python -m deployments.deploy`` (run by ``make up``) creates the work pool when missing and applies every
deployment in :data:`DEPLOYMENTS` to the Prefect API in ``PREFECT_API_URL``. Each deployment runs its flow from
this checkout: the flow source is the repository root and the worker's working directory is set to it, so relative
paths (warehouse, mlruns, config) resolve as they do for ``make demo`` rather than in a temporary folder.

Then::

    prefect deployment run 'train-all/weekly' --watch
    prefect deployment run 'ingest/weekday-close'
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import Any

from hrl_sarp.config import REPO_ROOT

WORK_POOL = "hrl-sarp-process"
TIMEZONE = "Asia/Kolkata"


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment: ``entrypoint`` is ``path/to/flow.py:function`` relative to the repository root."""

    flow_name: str
    name: str
    entrypoint: str
    cron: str
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.flow_name}/{self.name}"


# NSE trades 09:15-15:30 IST.
DEPLOYMENTS: tuple[DeploymentSpec, ...] = (
    DeploymentSpec(
        flow_name="train-all",
        name="weekly",
        entrypoint="flows/train_all.py:train_all",
        cron="0 6 * * 6",
        description="The whole pipeline every Saturday 06:00 IST, after the week's last close.",
        parameters={"profile": "demo"},
    ),
    DeploymentSpec(
        flow_name="ingest",
        name="weekday-close",
        entrypoint="flows/ingest.py:ingest_flow",
        cron="0 17 * * 1-5",
        description="Ingest the day's data on weekdays at 17:00 IST, after the 15:30 close.",
        parameters={"profile": "demo"},
    ),
    DeploymentSpec(
        flow_name="rebalance",
        name="friday",
        entrypoint="flows/rebalance.py:rebalance_flow",
        cron="30 17 * * 5",
        description="Champion -> next week's target weights and orders, Fridays 17:30 IST after the ingest.",
        parameters={"profile": "demo"},
    ),
)


def ensure_work_pool(name: str = WORK_POOL) -> None:
    """Create the process work pool with Prefect's default process job template when it does not exist."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
        except ObjectNotFound:
            client.create_work_pool(
                WorkPoolCreate(
                    name=name,
                    type="process",
                    description="HRL-SARP flows as local processes",
                    base_job_template=ProcessWorker.get_default_base_job_template(),
                )
            )


def apply(specs: tuple[DeploymentSpec, ...] = DEPLOYMENTS, work_pool: str = WORK_POOL) -> dict[str, str]:
    """Apply ``specs`` to the current Prefect API; returns ``{"flow/name": deployment id}``."""
    from prefect import flow
    from prefect.schedules import Cron

    ensure_work_pool(work_pool)
    applied = {}
    for spec in specs:
        remote = flow.from_source(source=str(REPO_ROOT), entrypoint=spec.entrypoint)
        deployment_id = remote.deploy(
            name=spec.name,
            work_pool_name=work_pool,
            schedules=[Cron(spec.cron, timezone=TIMEZONE)],
            parameters=spec.parameters,
            description=spec.description,
            tags=["hrl-sarp"],
            job_variables={"working_dir": str(REPO_ROOT)},
            print_next_steps=False,
            ignore_warnings=True,
        )
        applied[spec.full_name] = str(deployment_id)
    return applied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Apply the HRL-SARP deployments to the Prefect API.")
    parser.add_argument("--work-pool", default=WORK_POOL)
    args = parser.parse_args(argv)
    for name, deployment_id in apply(work_pool=args.work_pool).items():
        spec = next(s for s in DEPLOYMENTS if s.full_name == name)
        print(f"deployment {name}: cron '{spec.cron}' {TIMEZONE} on pool {args.work_pool} ({deployment_id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
