"""Walk-forward splits (rolling or expanding, with an embargo) that adapt to the data's date range.

Row indices refer to ``FeatureArrays.dates`` (T sessions). A fold trains on rows ``[train_start, train_end)`` and
is tested on rows ``[test_start, test_end)``: the returns realised at those rows (decided at the close of the row
before, filled at the next open). ``embargo_days`` rows separate ``train_end`` from ``test_start``, so training
labels that look ``forward_horizon_days`` ahead never reach into the test window. Test windows tile the
out-of-sample span without gaps; the last one takes the remainder (merged into the previous fold when shorter than
``min_test_days``).

When the data are shorter than ``train_days + embargo_days + test_days`` the two windows shrink in proportion,
down to ``min_train_days`` / ``min_test_days``; below that :class:`SplitError` says how many sessions are missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hrl_sarp.config import BacktestConfig
from hrl_sarp.errors import HrlSarpError


class SplitError(HrlSarpError):
    """The data are too short for any walk-forward fold."""


@dataclass(frozen=True)
class Fold:
    index: int
    train_start: int
    train_end: int  # exclusive
    test_start: int
    test_end: int  # exclusive

    @property
    def train_rows(self) -> slice:
        return slice(self.train_start, self.train_end)

    @property
    def test_rows(self) -> slice:
        return slice(self.test_start, self.test_end)


@dataclass(frozen=True)
class WalkForwardPlan:
    """The folds, the windows actually used (after adapting to the data) and a one-line description."""

    folds: tuple[Fold, ...]
    mode: str
    train_days: int
    test_days: int
    embargo_days: int
    adapted: bool
    description: str

    @property
    def test_start(self) -> int:
        return self.folds[0].test_start

    @property
    def test_end(self) -> int:
        return self.folds[-1].test_end

    def fold_of(self, row: int) -> int:
        """Index of the fold whose test window realises returns at ``row`` (or is decided at ``row``)."""
        for fold in self.folds:
            if fold.test_start - 1 <= row < fold.test_end - 1:
                return fold.index
        raise ValueError(f"row {row} is outside every test window")


def _fit_windows(n_dates: int, cfg: BacktestConfig) -> tuple[int, int, bool]:
    """Train and test lengths that fit ``n_dates`` sessions."""
    available = n_dates - cfg.embargo_days
    if cfg.train_days + cfg.test_days <= available:
        return cfg.train_days, cfg.test_days, False
    share = cfg.train_days / (cfg.train_days + cfg.test_days)
    train = int(np.floor(available * share))
    test = available - train
    needed = cfg.min_train_days + cfg.min_test_days + cfg.embargo_days
    if train < cfg.min_train_days or test < cfg.min_test_days:
        raise SplitError(
            f"walk-forward backtest needs at least {needed} sessions "
            f"(min_train_days {cfg.min_train_days} + embargo_days {cfg.embargo_days} + min_test_days "
            f"{cfg.min_test_days}), the data have {n_dates}; extend the date range or lower backtest.min_*_days"
        )
    return train, test, True


def walk_forward_splits(dates: np.ndarray, cfg: BacktestConfig) -> WalkForwardPlan:
    """Folds over ``dates`` (T,) datetime64 sessions, sorted ascending, following ``cfg`` (mode, windows, embargo)."""
    dates = np.asarray(dates).astype("datetime64[D]")
    n = len(dates)
    train_days, test_days, adapted = _fit_windows(n, cfg)
    first_test = train_days + cfg.embargo_days
    bounds = list(range(first_test, n, test_days)) + [n]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] < cfg.min_test_days:
        bounds.pop(-2)  # a short tail joins the previous fold
    folds = []
    for k in range(len(bounds) - 1):
        test_start, test_end = bounds[k], bounds[k + 1]
        train_end = test_start - cfg.embargo_days
        train_start = 0 if cfg.mode == "expanding" else max(0, train_end - train_days)
        folds.append(Fold(k, train_start, train_end, test_start, test_end))
    if cfg.max_folds and len(folds) > cfg.max_folds:
        folds = [
            Fold(i, f.train_start, f.train_end, f.test_start, f.test_end) for i, f in enumerate(folds[-cfg.max_folds :])
        ]
    first, last = folds[0], folds[-1]
    description = (
        f"{cfg.mode} walk-forward, {len(folds)} fold(s): train {train_days} sessions"
        f"{' (minimum, growing)' if cfg.mode == 'expanding' else ''}, embargo {cfg.embargo_days}, "
        f"test {test_days} sessions; out-of-sample {dates[first.test_start]} to {dates[last.test_end - 1]} "
        f"of data {dates[0]} to {dates[-1]}"
        f"{' (windows shrunk to fit the data)' if adapted else ''}"
    )
    return WalkForwardPlan(
        folds=tuple(folds),
        mode=cfg.mode,
        train_days=train_days,
        test_days=test_days,
        embargo_days=cfg.embargo_days,
        adapted=adapted,
        description=description,
    )
