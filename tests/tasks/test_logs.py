"""The library's INFO lines reach a Prefect run's logs (UI and API) once a flow calls send_library_logs_to_prefect."""

from __future__ import annotations

import logging
import warnings

import pytest

from hrl_sarp.logs import LOGGER
from tasks.logs import RunLogHandler, send_library_logs_to_prefect


@pytest.fixture
def library_logger():
    logger = logging.getLogger(LOGGER)
    saved = (logger.handlers[:], logger.level)
    yield logger
    logger.handlers[:] = saved[0]
    logger.setLevel(saved[1])


def test_one_handler_at_info_and_quiet_outside_a_run(library_logger):
    library_logger.setLevel(logging.NOTSET)
    send_library_logs_to_prefect()
    send_library_logs_to_prefect()
    assert sum(isinstance(h, RunLogHandler) for h in library_logger.handlers) == 1
    assert library_logger.level == logging.INFO
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Prefect's API handler warns about each record without a run
        logging.getLogger("hrl_sarp.training.runner").info("macro epoch 1/3: outside any flow")
    library_logger.setLevel(logging.DEBUG)
    send_library_logs_to_prefect()
    assert library_logger.level == logging.DEBUG  # a lower level chosen elsewhere stays


def test_library_lines_land_in_the_flow_runs_logs(prefect_harness, library_logger):
    from prefect import flow, task
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    @task
    def epochs() -> None:
        for epoch in (1, 2, 3):
            logging.getLogger("hrl_sarp.training.runner").info("macro epoch %d/3: val_loss 0.5", epoch)
        logging.getLogger("hrl_sarp.training.runner").debug("not sent")

    @flow
    def pretend_stage() -> None:
        send_library_logs_to_prefect()
        epochs()

    state = pretend_stage(return_state=True)
    APILogHandler().flush()
    with get_client(sync_client=True) as client:
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id])))
    lines = [log.message for log in logs if log.name == "hrl_sarp.training.runner"]
    assert lines == [f"macro epoch {e}/3: val_loss 0.5" for e in (1, 2, 3)]
    assert all(log.task_run_id is not None for log in logs if log.name == "hrl_sarp.training.runner")
