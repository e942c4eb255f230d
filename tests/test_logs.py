"""hrl_sarp.logs: which epochs get a line, bars only on a terminal, the CLI's stderr handler."""

from __future__ import annotations

import io
import logging
import re

import pytest

from hrl_sarp import logs


class FakeTerminal(io.StringIO):
    """A stderr stand-in that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_short_fits_log_every_epoch_long_ones_about_thirty():
    assert [e for e in range(30) if logs.epoch_due(e, 30)] == list(range(30))
    due = [e for e in range(200) if logs.epoch_due(e, 200)]  # every 7th, the first and the last
    assert due[:3] == [0, 6, 13] and due[-2:] == [195, 199] and len(due) == 30
    assert [e for e in range(1) if logs.epoch_due(e, 1)] == [0]


def test_format_metrics_keeps_the_order_asked_and_skips_missing():
    metrics = {"val_loss": 0.49812, "train_loss": 0.512345, "val_rank_ic": 0.0413}
    assert logs.format_metrics(metrics, ("train_loss", "val_loss", "val_regime_accuracy", "val_rank_ic")) == (
        "train_loss 0.5123 val_loss 0.4981 val_rank_ic 0.0413"
    )


def test_progress_bar_only_on_a_terminal(monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert logs.progress_bar(True, total=3) is None
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert logs.progress_bar(False, total=3) is None
    bar = logs.progress_bar(True, total=3, desc="build-features")
    bar.update(1)
    bar.close()
    assert "build-features" in terminal.getvalue()


@pytest.fixture
def bare_logging():
    """hrl_sarp's logger as it was before the test (tests call :func:`no_root_handlers` for the CLI's situation)."""
    logger = logging.getLogger(logs.LOGGER)
    saved = (logger.handlers[:], logger.level)
    yield logger
    logger.handlers[:] = saved[0]
    logger.setLevel(saved[1])


def no_root_handlers(monkeypatch):
    """The CLI's root logger: no handlers (pytest's capture handlers come back after the test)."""
    monkeypatch.setattr(logging.getLogger(), "handlers", [])


def test_configure_logging_prints_info_lines_on_the_current_stderr(bare_logging, monkeypatch):
    no_root_handlers(monkeypatch)
    logs.configure_logging()
    logs.configure_logging()  # idempotent: one handler
    assert sum(isinstance(h, logs.StderrHandler) for h in bare_logging.handlers) == 1
    stderr = io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)  # replaced after configuration: the handler follows it
    logging.getLogger("hrl_sarp.training.runner").info("macro epoch %d/%d: val_loss %.4g", 3, 30, 0.49812)
    logging.getLogger("hrl_sarp.data.files").warning("2 rows rejected")
    logging.getLogger("hrl_sarp.rl.callbacks").debug("not shown")
    lines = stderr.getvalue().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"\d\d:\d\d:\d\d macro epoch 3/30: val_loss 0\.4981", lines[0])
    assert re.fullmatch(r"\d\d:\d\d:\d\d warning: 2 rows rejected", lines[1])


def test_stderr_handler_is_quiet_when_the_root_logger_prints(bare_logging, monkeypatch):
    """Under Prefect (its console handler on the root logger) a line is printed once, by the root's handler."""
    no_root_handlers(monkeypatch)
    logs.configure_logging()
    stderr, root_stream = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    logging.getLogger().addHandler(logging.StreamHandler(root_stream))
    logging.getLogger("hrl_sarp.rl.callbacks").info("phase 3 eval 1/2")
    assert stderr.getvalue() == "" and root_stream.getvalue() == "phase 3 eval 1/2\n"


def test_sb3_bar_needs_both_streams_on_a_terminal(monkeypatch):
    """SB3 draws its bar with tqdm.rich on stdout: a terminal on stderr alone must not turn it on (--json, pipes)."""
    import io

    from hrl_sarp.logs import both_streams_are_terminals

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stderr", Terminal())
    monkeypatch.setattr("sys.stdout", io.StringIO())
    assert not both_streams_are_terminals()
    monkeypatch.setattr("sys.stdout", Terminal())
    assert both_streams_are_terminals()
