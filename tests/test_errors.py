"""Which errors a retry may fix, and the one-line location format."""

from __future__ import annotations

import pytest

from hrl_sarp.errors import (
    ConfigError,
    InputError,
    NoValidDataError,
    SourceUnavailableError,
    WarehouseLockedError,
    format_location,
    is_transient,
)


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (SourceUnavailableError("yfinance download failed; check the network"), True),
        (ConnectionError("reset by peer"), True),
        (OSError("disk hiccup"), True),
        (InputError("NaN close", file="p.csv", column="close", row=3), False),
        (ConfigError("risk.sector_cap: too big"), False),
        (NoValidDataError("nothing valid"), False),
        (WarehouseLockedError("locked"), False),
        (None, False),
    ],
)
def test_only_unreachable_sources_and_unexpected_errors_are_retried(exc, transient):
    assert is_transient(exc) is transient


def test_input_error_names_file_row_column_and_reason_on_one_line():
    err = InputError("zero or negative price -4.5", file="prices/p.csv", column="close", row=3)
    assert str(err) == "prices/p.csv:3: column 'close': zero or negative price -4.5"
    assert format_location(None, None, None, "empty folder") == "<input>: empty folder"
