"""Deployments applied through the Prefect API carry their cron, timezone, work pool and working directory."""

from __future__ import annotations

from deployments.deploy import DEPLOYMENTS, TIMEZONE, WORK_POOL, apply


def test_every_deployment_has_its_cron_and_timezone(prefect_harness):
    from prefect.client.orchestration import get_client

    applied = apply()

    assert set(applied) == {"train-all/weekly", "ingest/weekday-close", "rebalance/friday"}
    with get_client(sync_client=True) as client:
        pool = client.read_work_pool(WORK_POOL)
        assert pool.type == "process"
        for spec in DEPLOYMENTS:
            deployment = client.read_deployment_by_name(spec.full_name)
            assert deployment.work_pool_name == WORK_POOL
            assert [s.schedule.cron for s in deployment.schedules] == [spec.cron]
            assert [s.schedule.timezone for s in deployment.schedules] == [TIMEZONE]
            assert all(s.active for s in deployment.schedules)
            # The worker runs the flow from the checkout, not from a temporary directory.
            assert deployment.job_variables["working_dir"] == str(
                deployment.pull_steps[0]["prefect.deployments.steps.set_working_directory"]["directory"]
            )
            assert deployment.entrypoint == spec.entrypoint


def test_schedules_are_after_the_close_and_on_the_right_days():
    by_name = {s.full_name: s for s in DEPLOYMENTS}
    minute, hour, _, _, weekdays = by_name["ingest/weekday-close"].cron.split()
    assert (int(hour), int(minute)) > (15, 30) and weekdays == "1-5"
    assert by_name["train-all/weekly"].cron.split()[4] == "6"
    minute, hour, _, _, weekdays = by_name["rebalance/friday"].cron.split()
    assert weekdays == "5" and (int(hour), int(minute)) > (17, 0)  # Fridays, after the weekday ingest
    assert set(by_name) == {"train-all/weekly", "ingest/weekday-close", "rebalance/friday"}


def test_applying_twice_updates_in_place(prefect_harness):
    first = apply()
    second = apply()
    assert first == second
