"""Progress output: INFO log lines under the ``hrl_sarp`` logger, progress bars only on a terminal.

The library reports long steps (pretraining and GNN epochs, RL evaluations, feature-build stages) as INFO records on
loggers under ``hrl_sarp.`` and never configures logging itself. Entry points choose where the lines go:

- the CLI calls :func:`configure_logging` once: INFO and up on stderr, ``HH:MM:SS message``;
- Prefect flows send the same loggers to the run's logs (``tasks.common.send_library_logs_to_prefect``);
- tests read them with ``caplog``.

Progress bars (tqdm, SB3's) are drawn only when stderr is a terminal (:func:`stderr_is_terminal`); redirected output
(a log file, a Prefect worker, ``2> file``) gets the log lines instead, never a bar's carriage-return frames.
"""

from __future__ import annotations

import logging
import math
import sys
from typing import Any

LOGGER = "hrl_sarp"
# Long fits log about this many epoch lines, not one per epoch (Phase 1 runs up to 200 short epochs).
EPOCH_LINES = 30


class StderrHandler(logging.StreamHandler):
    """A stream handler on whatever ``sys.stderr`` is when a record arrives, so a wrapper installed later (rich's live
    progress bar, pytest's capture) receives the line. It stays quiet when the root logger has a handler that takes
    the record: the line propagates there and is printed once (Prefect's console in a flow run, pytest's caplog)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> Any:  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:  # StreamHandler.setStream; the stream is always the current stderr
        pass

    def emit(self, record: logging.LogRecord) -> None:
        root = logging.getLogger()
        if logging.getLogger(LOGGER).propagate and any(record.levelno >= h.level for h in root.handlers):
            return
        super().emit(record)


class _Formatter(logging.Formatter):
    """``HH:MM:SS message``; warnings and errors say so (``HH:MM:SS warning: message``)."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        if record.levelno >= logging.WARNING:
            stamp, _, message = line.partition(" ")
            line = f"{stamp} {record.levelname.lower()}: {message}"
        return line


def configure_logging(level: int = logging.INFO) -> logging.Logger:
    """Print the library's records at ``level`` and up on stderr (for the CLI); calling it again changes nothing
    but the level. Other libraries' loggers keep Python's default (warnings only). Returns the ``hrl_sarp`` logger."""
    logger = logging.getLogger(LOGGER)
    logger.setLevel(level)
    if not any(isinstance(h, StderrHandler) for h in logger.handlers):
        handler = StderrHandler()
        handler.setFormatter(_Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
        logger.addHandler(handler)
    return logger


def stderr_is_terminal() -> bool:
    """True when stderr is an interactive terminal: the only place a progress bar is drawn."""
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # replaced by an object without isatty, or closed
        return False


def both_streams_are_terminals() -> bool:
    """True when stdout and stderr are both terminals: SB3's bar (``tqdm.rich``) draws on stdout, which must stay
    clean for ``--json`` and pipes."""
    try:
        return stderr_is_terminal() and bool(sys.stdout.isatty())
    except (AttributeError, ValueError):
        return False


def progress_bar(enabled: bool = True, **tqdm_options: Any) -> Any:
    """A tqdm bar on stderr when ``enabled`` and stderr is a terminal, else None (callers log lines instead)."""
    if not (enabled and stderr_is_terminal()):
        return None
    from tqdm import tqdm

    return tqdm(file=sys.stderr, **tqdm_options)


def epoch_due(epoch: int, epochs: int, lines: int = EPOCH_LINES) -> bool:
    """Whether 0-based ``epoch`` of ``epochs`` gets a log line: every epoch of a short fit, about ``lines`` evenly
    spaced ones (the first and the last included) of a long one."""
    every = max(1, math.ceil(epochs / lines))
    return epoch == 0 or epoch + 1 >= epochs or (epoch + 1) % every == 0


def format_metrics(metrics: dict[str, float], names: tuple[str, ...]) -> str:
    """``name value`` pairs (4 significant digits) for the ``names`` present in ``metrics``, in that order."""
    return " ".join(f"{name} {metrics[name]:.4g}" for name in names if name in metrics)
