"""Weekly rebalance: the champion model's target weights for the latest date in the warehouse, and the orders that
move the current holdings there.

Inputs: the registered model ``models:/hrl-sarp@champion`` (:mod:`hrl_sarp.registry`), the latest complete feature
build and its embeddings, and the ``holdings`` table (the newest ``as_of`` on or before the decision date; none =
all cash). The target is :meth:`hrl_sarp.system.TrainedSystem.target_weights` at the last session (decided on data
up to that close, traded at the next open, held for the coming week): stock cap, sector cap, minimum cash, liquidity
and the CVaR budget are applied there; the weights are checked against the caps of both the model's and the run's
config (the run's tighter caps re-project the target). The drawdown gate needs the real portfolio's NAV path and is
left to the execution side.

Output: one row per symbol held or targeted plus ``cash`` in ``rebalance_proposals`` (one transaction, idempotent
for the same proposal id) and a frame for the Prefect table artifact.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hrl_sarp.config import Config, RiskConfig
from hrl_sarp.domain import CASH
from hrl_sarp.errors import HrlSarpError

ORDER_TOLERANCE = 1e-9
PROPOSAL_COLUMNS = [
    "proposal_id", "as_of", "symbol", "target_weight", "current_weight", "order_weight", "order_side",
    "model_version", "build_id",
]  # fmt: skip


@dataclass(frozen=True)
class Proposal:
    """A rebalance proposal: ``frame`` has :data:`PROPOSAL_COLUMNS` (the ``cash`` row last)."""

    proposal_id: str
    as_of: str
    model_version: str
    build_id: str
    frame: pd.DataFrame
    sector_weights: dict[str, float]
    regime: str
    checks: dict[str, float]

    def summary(self) -> dict[str, Any]:
        stocks = self.frame[self.frame["symbol"] != CASH]
        orders = stocks[stocks["order_side"] != "hold"]
        cash = float(self.frame.loc[self.frame["symbol"] == CASH, "target_weight"].iloc[0])
        return {
            "proposal_id": self.proposal_id,
            "as_of": self.as_of,
            "model_version": self.model_version,
            "build_id": self.build_id,
            "regime": self.regime,
            "invested": round(float(stocks["target_weight"].sum()), 6),
            "cash": round(cash, 6),
            "orders": int(len(orders)),
            "buys": int((orders["order_side"] == "buy").sum()),
            "sells": int((orders["order_side"] == "sell").sum()),
            "turnover": round(float(stocks["order_weight"].abs().sum()), 6),
            "sector_weights": {k: round(v, 6) for k, v in self.sector_weights.items()},
            "checks": self.checks,
            "targets": {
                str(r.symbol): round(float(r.target_weight), 6)
                for r in self.frame.itertuples()
                if r.target_weight > ORDER_TOLERANCE
            },
        }


def check_caps(weights: np.ndarray, sector_of: np.ndarray, n_sectors: int, risk: RiskConfig, tol: float = 1e-9) -> dict:
    """Largest stock weight, largest sector weight and cash of (N,) ``weights``; raises when a cap is broken."""
    weights = np.asarray(weights, dtype=np.float64)
    sector = np.bincount(sector_of, weights=weights, minlength=n_sectors)
    cash = 1.0 - float(weights.sum())
    checks = {
        "max_stock_weight": float(weights.max(initial=0.0)),
        "max_sector_weight": float(sector.max(initial=0.0)),
        "cash": cash,
        "stock_cap": risk.stock_cap,
        "sector_cap": risk.sector_cap,
        "min_cash": risk.min_cash,
    }
    broken = []
    if (weights < -tol).any():
        broken.append("negative weight")
    if checks["max_stock_weight"] > risk.stock_cap + tol:
        broken.append(f"stock weight {checks['max_stock_weight']:.6f} > cap {risk.stock_cap}")
    if checks["max_sector_weight"] > risk.sector_cap + tol:
        broken.append(f"sector weight {checks['max_sector_weight']:.6f} > cap {risk.sector_cap}")
    if cash < risk.min_cash - tol:
        broken.append(f"cash {cash:.6f} < minimum {risk.min_cash}")
    if broken:
        raise HrlSarpError("rebalance target breaks the risk rules: " + "; ".join(broken))
    return {k: round(v, 10) for k, v in checks.items()}


def current_holdings(con: Any, as_of: np.datetime64) -> tuple[str | None, dict[str, float]]:
    """``(holdings date, {symbol: weight})`` of the newest ``holdings`` on or before ``as_of`` (None, {}: cash)."""
    from hrl_sarp.warehouse import table_exists

    if not table_exists(con, "holdings"):
        return None, {}
    day = pd.Timestamp(as_of).date()
    rows = con.execute(
        "SELECT as_of, symbol, weight FROM holdings WHERE as_of = (SELECT max(as_of) FROM holdings WHERE as_of <= ?)",
        [day],
    ).fetchall()
    if not rows:
        return None, {}
    # the cash row may be written in any case (proposals before the vocabulary was unified wrote "CASH")
    return str(rows[0][0]), {str(symbol): float(weight) for _, symbol, weight in rows if str(symbol).lower() != CASH}


def order_frame(
    symbols: np.ndarray, target: np.ndarray, holdings: dict[str, float], proposal_id: str, as_of: str,
    model_version: str, build_id: str,
) -> pd.DataFrame:  # fmt: skip
    """One row per symbol targeted or held (symbols outside the build are sold to 0) plus ``cash``."""
    names = [str(s) for s in symbols]
    extra = sorted(set(holdings) - set(names))
    all_names = names + extra
    target_all = np.concatenate([np.asarray(target, dtype=np.float64), np.zeros(len(extra))])
    current = np.array([holdings.get(s, 0.0) for s in all_names])
    keep = (target_all > ORDER_TOLERANCE) | (np.abs(current) > ORDER_TOLERANCE)
    frame = pd.DataFrame(
        {"symbol": np.array(all_names)[keep], "target_weight": target_all[keep], "current_weight": current[keep]}
    )
    cash_row = {
        "symbol": CASH,
        "target_weight": 1.0 - float(target_all.sum()),
        "current_weight": 1.0 - float(current.sum()),
    }
    frame = pd.concat([frame, pd.DataFrame([cash_row])], ignore_index=True)
    frame["order_weight"] = frame["target_weight"] - frame["current_weight"]
    frame["order_side"] = np.where(
        frame["order_weight"] > ORDER_TOLERANCE,
        "buy",
        np.where(frame["order_weight"] < -ORDER_TOLERANCE, "sell", "hold"),
    )
    frame["proposal_id"] = proposal_id
    frame["as_of"] = pd.Timestamp(as_of).date()
    frame["model_version"] = model_version
    frame["build_id"] = build_id
    return frame[PROPOSAL_COLUMNS]


def propose(cfg: Config, system: Any, model_version: str, write: bool = True) -> Proposal:
    """The proposal of ``system`` (a :class:`~hrl_sarp.system.TrainedSystem`) for the latest date in the
    warehouse; written to ``rebalance_proposals`` when ``write``."""
    from hrl_sarp.domain import REGIMES
    from hrl_sarp.envs.simulator import MarketArrays, PortfolioSimulator
    from hrl_sarp.system import load_system_inputs
    from hrl_sarp.warehouse import open_warehouse, transaction, upsert

    arrays, embeddings, _ = load_system_inputs(cfg.warehouse_path())
    t = arrays.n_dates - 1
    target = system.target_weights(arrays, embeddings, t)
    sector_of = np.asarray(arrays.stock_sector, dtype=np.int64)
    run_risk = cfg.risk
    if run_risk != system.cfg.risk:
        market = MarketArrays.from_features(arrays, run_risk)
        target, _, _ = PortfolioSimulator(market, cfg.costs, run_risk).risk_adjust(target, t)
    check_caps(target, sector_of, arrays.n_sectors, system.cfg.risk)
    checks = check_caps(target, sector_of, arrays.n_sectors, run_risk)
    as_of = str(np.asarray(arrays.dates).astype("datetime64[D]")[t])
    with open_warehouse(cfg.warehouse_path(), read_only=not write) as con:
        held_on, holdings = current_holdings(con, np.datetime64(as_of))
        digest = hashlib.sha256(
            f"{as_of}|{model_version}|{arrays.build_id}|{held_on}|{sorted(holdings.items())}".encode()
        ).hexdigest()[:16]
        proposal_id = f"rb-{as_of}-{digest}"
        frame = order_frame(arrays.symbols, target, holdings, proposal_id, as_of, model_version, arrays.build_id)
        if write:
            with transaction(con):
                upsert(con, "rebalance_proposals", frame, key=["proposal_id", "symbol"])
    sectors = system.sector_weights(arrays, embeddings, t)
    checks["holdings_as_of"] = held_on  # type: ignore[assignment]
    return Proposal(
        proposal_id=proposal_id,
        as_of=as_of,
        model_version=model_version,
        build_id=arrays.build_id,
        frame=frame,
        sector_weights={str(s): float(w) for s, w in zip(arrays.sectors, sectors, strict=True)},
        regime=REGIMES[int(system.decisions(arrays, embeddings).regimes[t])],
        checks=checks,
    )


def rebalance(cfg: Config, write: bool = True, alias: str = "champion") -> Proposal:
    """Load ``models:/hrl-sarp@<alias>`` from the MLflow store of ``cfg`` and propose (see :func:`propose`)."""
    from hrl_sarp import tracking
    from hrl_sarp.registry import load_champion

    tracking.setup(cfg)
    model, version = load_champion(alias=alias)
    system = model.unwrap_python_model().system
    return propose(cfg, system, str(version.version), write=write)
