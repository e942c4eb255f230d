"""The library's progress lines (loggers under ``hrl_sarp``, INFO and up) in Prefect's run logs.

``hrl_sarp`` logs per-epoch, per-evaluation and per-stage lines and never imports Prefect. Prefect ships only its
own run loggers to the API, and ``PREFECT_LOGGING_EXTRA_LOGGERS=hrl_sarp`` alone is not enough: it attaches the API
handler but leaves the logger at the root's WARNING, so INFO lines never reach it. Every flow therefore starts
with :func:`send_library_logs_to_prefect`, which does both, in whatever process runs it (a worker's flow-run
process, ``hrl-sarp demo``, a test). The lines then show in the UI under the task run that logged them and, by
propagation to the root logger, on the console of the process (Prefect's console handler).
"""

from __future__ import annotations

import logging

from prefect.context import FlowRunContext, TaskRunContext
from prefect.logging.handlers import APILogHandler

from hrl_sarp.logs import LOGGER


class RunLogHandler(APILogHandler):
    """Prefect's API handler that drops records logged outside a flow or task run (a CLI step after the flow, a
    test) instead of warning about each one."""

    def emit(self, record: logging.LogRecord) -> None:
        if FlowRunContext.get() is None and TaskRunContext.get() is None:
            return
        super().emit(record)


def send_library_logs_to_prefect(level: int = logging.INFO) -> None:
    """Send ``hrl_sarp``'s records at ``level`` and up to the current run's logs; safe to call in every flow (the
    handler is attached once per process, a lower level chosen elsewhere, e.g. DEBUG, is kept)."""
    logger = logging.getLogger(LOGGER)
    if logger.getEffectiveLevel() > level:
        logger.setLevel(level)
    if not any(isinstance(h, APILogHandler) for h in logger.handlers):  # PREFECT_LOGGING_EXTRA_LOGGERS adds one too
        logger.addHandler(RunLogHandler())
