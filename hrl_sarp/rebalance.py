"""Weekly rebalance: the champion model's target weights for the latest date in the warehouse, and the orders that
move the current portfolio there.

Inputs: the registered model ``models:/hrl-sarp@champion`` (:mod:`hrl_sarp.registry`), the latest complete feature
build and its embeddings, and the current portfolio: a holdings file (:func:`read_holdings`: CSV or Parquet with
columns ``symbol,shares`` and an optional ``cash`` row whose ``shares`` is the cash amount) or, without one, the
``holdings`` table (weights; the newest ``as_of`` on or before the decision date; none = all cash). The portfolio's
NAV is given, or is the holdings valued at their last closes plus cash (:func:`resolve_nav`).

Target: :meth:`hrl_sarp.system.TrainedSystem.target_weights` at the last session (decided on data up to that close,
traded at the next open, held for the coming week): stock cap, sector cap, minimum cash, liquidity and the CVaR
budget are applied there; the weights are checked against the caps of both the model's and the run's config (the
run's tighter caps re-project the target). The drawdown gate needs the real portfolio's NAV path and is left to the
execution side.

Orders (pure: :func:`trade_shares`, :func:`orders_frame`): with a NAV, every symbol held or targeted is priced at its
last close on or before the decision date and traded in whole lots of ``rebalance.lot_size`` shares. Buys round down
and sells round up, so no position ends above its target weight and cash ends at or above its target; a sell that
would go below zero, and any zero target, sells the whole position, odd lot included. Each position lands within one
lot of its exact target ``target_weight * NAV / price``. Cash is its own line (side ``cash``), never an order; trading costs are not deducted.

Checks: the caps (:func:`check_caps`); warnings, returned with the proposal for the caller to show, when the latest
close is more than ``rebalance.max_staleness_sessions`` weekday sessions before today, and when a held symbol's last close is
older than the decision date (delisted or suspended: its sell is priced at that close).

Output: a :class:`Proposal`: the weights per symbol plus ``cash`` (:data:`PROPOSAL_COLUMNS`, written to
``rebalance_proposals`` in one transaction, idempotent for the same proposal id) and, with a NAV, the orders
(:data:`ORDER_COLUMNS`). :func:`rebalance` writes the orders CSV (:func:`write_orders`) and logs it to an MLflow
``rebalance`` run; ``tasks/rebalance.py`` publishes the same table as a Prefect artifact.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hrl_sarp.config import Config, RiskConfig
from hrl_sarp.domain import CASH
from hrl_sarp.errors import HrlSarpError, InputError, WarehouseStateError

ORDER_TOLERANCE = 1e-9
LOT_TOLERANCE = 1e-9  # float noise: a trade of 2.9999999999 lots is 3 lots
PROPOSAL_COLUMNS = [
    "proposal_id", "as_of", "symbol", "target_weight", "current_weight", "order_weight", "order_side",
    "model_version", "build_id",
]  # fmt: skip
HOLDINGS_COLUMNS = ("symbol", "shares")
HOLDINGS_SUFFIXES = (".csv", ".parquet", ".pq")
# The orders table (CSV, Prefect artifact, MLflow artifact): one row per stock held or targeted, then the cash line.
ORDER_COLUMNS = [
    "symbol", "sector", "price", "price_date", "current_shares", "current_value", "current_weight",
    "target_weight", "target_shares", "target_value", "trade_shares", "notional", "side",
]  # fmt: skip
CASH_SIDE = "cash"  # the side of the cash line: cash is what is left, not an order
SHARE_COLUMNS = ("current_shares", "target_shares", "trade_shares")
MONEY_COLUMNS = ("current_value", "target_value", "notional")
WEIGHT_COLUMNS = ("current_weight", "target_weight")


@dataclass(frozen=True)
class Holdings:
    """The current portfolio as given by the user: ``shares`` per symbol, ``rows`` the 1-based data row of each
    symbol in ``source`` (header excluded), ``cash`` the cash amount (None: not given, so NAV minus the stocks)."""

    source: str
    shares: dict[str, float]
    rows: dict[str, int]
    cash: float | None = None


@dataclass(frozen=True)
class Proposal:
    """A rebalance proposal.

    ``frame`` has :data:`PROPOSAL_COLUMNS` (the ``cash`` row last); ``orders`` has :data:`ORDER_COLUMNS` (the
    ``cash`` line last) when the NAV is known, else None. ``holdings`` says where the current portfolio came from.
    """

    proposal_id: str
    as_of: str
    model_version: str
    build_id: str
    frame: pd.DataFrame
    sector_weights: dict[str, float]
    regime: str
    checks: dict[str, float]
    holdings: str
    data_age_days: int
    orders: pd.DataFrame | None = None
    nav: float | None = None
    lot_size: int = 1
    warnings: tuple[str, ...] = ()
    orders_file: str | None = None
    mlflow_run_id: str | None = None

    def table(self) -> pd.DataFrame:
        """What a person acts on: the orders when the NAV is known, else the weights per symbol."""
        if self.orders is not None:
            return self.orders
        return self.frame.drop(columns=["proposal_id"])

    def summary(self) -> dict[str, Any]:
        stocks = self.frame[self.frame["symbol"] != CASH]
        cash = self.frame[self.frame["symbol"] == CASH].iloc[0]
        summary: dict[str, Any] = {
            "proposal_id": self.proposal_id,
            "as_of": self.as_of,
            "data_age_days": self.data_age_days,
            "model_version": self.model_version,
            "build_id": self.build_id,
            "regime": self.regime,
            "holdings": self.holdings,
            "invested": round(float(stocks["target_weight"].sum()), 6),
            "cash": round(float(cash["target_weight"]), 6),
            "current_cash": round(float(cash["current_weight"]), 6),
        }
        if self.orders is None:
            moves = stocks[stocks["order_side"] != "hold"]
            summary.update(
                orders=int(len(moves)),
                buys=int((moves["order_side"] == "buy").sum()),
                sells=int((moves["order_side"] == "sell").sum()),
                turnover=round(float(stocks["order_weight"].abs().sum()), 6),
            )
        else:
            lines = self.orders[self.orders["side"] != CASH_SIDE]
            cash_line = self.orders[self.orders["side"] == CASH_SIDE].iloc[0]
            nav = float(self.nav or 0.0)
            buys, sells = lines[lines["side"] == "buy"], lines[lines["side"] == "sell"]
            # money in whole currency units: the orders file carries the paise
            summary.update(
                nav=round(nav),
                lot_size=self.lot_size,
                cash_now=round(float(cash_line["current_value"])),
                cash_after=round(float(cash_line["target_value"])),
                orders=int(len(buys) + len(sells)),
                buys=int(len(buys)),
                sells=int(len(sells)),
                buy_notional=round(float(buys["notional"].sum())),
                sell_notional=round(float(sells["notional"].sum())),
                turnover=round(float(lines["notional"].sum()) / nav, 6),
            )
        summary["sector_weights"] = {k: round(v, 6) for k, v in self.sector_weights.items()}
        summary["checks"] = self.checks
        summary["targets"] = {
            str(r.symbol): round(float(r.target_weight), 6)
            for r in self.frame.itertuples()
            if r.target_weight > ORDER_TOLERANCE
        }
        if self.orders_file:
            summary["orders_file"] = self.orders_file
        if self.mlflow_run_id:
            summary["mlflow_run_id"] = self.mlflow_run_id
        if self.warnings:
            summary["warnings"] = list(self.warnings)
        return summary


# ------------------------------------------------------------------------------------------------ pure arithmetic
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


def trade_shares(
    price: np.ndarray, current_shares: np.ndarray, target_weight: np.ndarray, nav: float, lot_size: int
) -> np.ndarray:
    """(M,) signed shares to trade (+ buy, - sell) that move ``current_shares`` towards ``target_weight``.

    ``price`` (M,) last close per share (> 0), ``current_shares`` (M,) shares held (>= 0), ``target_weight`` (M,)
    fractions of ``nav`` (currency). Trades are whole multiples of ``lot_size`` shares, rounded towards less stock
    (buys down, sells up), so each position ends in ``(exact - lot, exact]`` shares of its exact target
    ``target_weight * nav / price`` and the cash left is at least the target cash. A sell never goes below zero: one
    that would, and any zero target, sells the whole position, odd lot included.
    """
    price = np.asarray(price, dtype=np.float64)
    current = np.asarray(current_shares, dtype=np.float64)
    target_weight = np.asarray(target_weight, dtype=np.float64)
    exact = target_weight * nav / price - current
    trade = np.floor(exact / lot_size + LOT_TOLERANCE) * lot_size
    trade = np.maximum(trade, -current)
    return np.where(target_weight > ORDER_TOLERANCE, trade, -current)


def orders_frame(
    symbols: np.ndarray, sectors: np.ndarray, price: np.ndarray, price_date: np.ndarray, current_shares: np.ndarray,
    target_weight: np.ndarray, nav: float, cash: float, lot_size: int,
) -> pd.DataFrame:  # fmt: skip
    """The orders table (:data:`ORDER_COLUMNS`): one row per symbol, then the cash line.

    Arrays are (M,) per symbol: ``price`` last close, ``price_date`` its date, ``current_shares`` held,
    ``target_weight`` fraction of ``nav``. ``cash`` is the cash held now (currency; ``nav`` = stocks at ``price`` +
    ``cash``). ``notional`` = |trade_shares| x price; the cash line's ``target_value`` is the cash after the trades
    (before costs) and its ``target_weight`` the model's cash weight.
    """
    price = np.asarray(price, dtype=np.float64)
    current = np.asarray(current_shares, dtype=np.float64)
    target_weight = np.asarray(target_weight, dtype=np.float64)
    trade = trade_shares(price, current, target_weight, nav, lot_size)
    target = current + trade
    frame = pd.DataFrame(
        {
            "symbol": np.asarray(symbols, dtype=object),
            "sector": np.asarray(sectors, dtype=object),
            "price": price,
            "price_date": pd.to_datetime(np.asarray(price_date)).date,
            "current_shares": current,
            "current_value": current * price,
            "current_weight": current * price / nav,
            "target_weight": target_weight,
            "target_shares": target,
            "target_value": target * price,
            "trade_shares": trade,
            "notional": np.abs(trade) * price,
            "side": np.where(trade > 0, "buy", np.where(trade < 0, "sell", "hold")),
        }
    )
    cash_line = {
        "symbol": CASH,
        "current_value": cash,
        "current_weight": cash / nav,
        "target_weight": 1.0 - float(target_weight.sum()),
        "target_value": cash - float((trade * price).sum()),
        "side": CASH_SIDE,
    }
    return pd.concat([frame, pd.DataFrame([cash_line])], ignore_index=True)[ORDER_COLUMNS]


def resolve_nav(stock_value: float, cash: float | None, nav: float | None, source: str) -> tuple[float, float]:
    """``(NAV, cash now)`` from the stocks' value at the last closes, the cash given and the NAV given (any may be
    missing but not both of cash and NAV's information): NAV = stocks + cash when not given; cash = NAV - stocks
    when not given. Raises :class:`InputError` (naming ``source``) when they disagree or the NAV is not positive."""
    tolerance = 0.005 + 1e-9 * abs(nav or stock_value)
    if nav is None:
        nav = stock_value + (cash or 0.0)
        if nav <= 0:
            raise InputError(
                "the portfolio is worth nothing (no shares and no cash): give the NAV (--nav)", file=source
            )
        return nav, cash or 0.0
    if nav <= 0:
        raise InputError(f"the NAV must be positive, got {nav:,.2f}", file=source)
    if cash is None:
        if stock_value > nav + tolerance:
            raise InputError(
                f"the holdings are worth {stock_value:,.2f} at the last closes, more than the NAV {nav:,.2f}",
                file=source,
            )
        return nav, max(nav - stock_value, 0.0)
    if abs(stock_value + cash - nav) > tolerance:
        raise InputError(
            f"the NAV {nav:,.2f} disagrees with holdings {stock_value:,.2f} + cash {cash:,.2f} = "
            f"{stock_value + cash:,.2f}: give the cash or the NAV, not both",
            file=source,
        )
    return nav, cash


def sessions_missed(as_of: dt.date, today: dt.date) -> int:
    """Weekday sessions strictly between the latest close ``as_of`` and ``today`` (whose own close may not be in
    yet): the closes the warehouse should hold by now and does not. Exchange holidays are not known here."""
    return max(int(np.busday_count(as_of + dt.timedelta(days=1), today)), 0)


def staleness_warning(as_of: dt.date, today: dt.date, max_sessions: int) -> str | None:
    """A warning when more than ``max_sessions`` weekday sessions passed between the latest close ``as_of`` and
    ``today``; None when the data are fresh enough."""
    missed = sessions_missed(as_of, today)
    if missed <= max_sessions:
        return None
    return (
        f"the latest close in the warehouse is {as_of}, {missed} sessions and {(today - as_of).days} days before "
        f"today ({today}; rebalance.max_staleness_sessions {max_sessions}): ingest fresh prices before trading on "
        "these orders"
    )


def order_frame(
    symbols: np.ndarray, target: np.ndarray, holdings: dict[str, float], proposal_id: str, as_of: str,
    model_version: str, build_id: str,
) -> pd.DataFrame:  # fmt: skip
    """The weights (:data:`PROPOSAL_COLUMNS`): one row per symbol targeted or held (symbols outside the build are
    sold to 0) plus ``cash`` (``order_side`` ``cash``). ``symbols`` (N,) and ``target`` (N,) are the build's;
    ``holdings`` maps symbol -> current weight."""
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
    frame.loc[frame["symbol"] == CASH, "order_side"] = CASH_SIDE  # cash is what the orders leave, not an order
    frame["proposal_id"] = proposal_id
    frame["as_of"] = pd.Timestamp(as_of).date()
    frame["model_version"] = model_version
    frame["build_id"] = build_id
    return frame[PROPOSAL_COLUMNS]


def format_orders(frame: pd.DataFrame) -> pd.DataFrame:
    """The orders (or weights) as written out: weights to 6 decimals, money to 2, whole share counts as integers,
    prices as they are (so notional = |trade_shares| x price to the paisa); blanks (NA) where a column does not apply
    (the cash line's prices and shares)."""
    out = frame.copy()
    for column in out.columns:
        if column in SHARE_COLUMNS:
            values = out[column].to_numpy(dtype=np.float64)
            known = values[~np.isnan(values)]
            if np.allclose(known, np.round(known), rtol=0.0, atol=1e-9):
                out[column] = pd.array(np.round(values), dtype="Float64").astype("Int64")
        elif column in MONEY_COLUMNS:
            out[column] = out[column].astype(np.float64).round(2)
        elif column in WEIGHT_COLUMNS or column == "order_weight":
            out[column] = out[column].astype(np.float64).round(6)
        elif column in ("as_of", "price_date"):
            out[column] = out[column].map(lambda d: None if pd.isna(d) else str(d))
    return out


def table_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of :func:`format_orders` as dicts, blanks as None (JSON, a Prefect table artifact)."""
    return [{k: None if pd.isna(v) else v for k, v in row.items()} for row in format_orders(frame).to_dict("records")]


# ---------------------------------------------------------------------------------------------------------- I/O
def read_holdings(path: str | Path, cash: float | None = None) -> Holdings:
    """The current portfolio from a CSV or Parquet file with columns ``symbol,shares`` (other columns ignored).

    ``shares`` is the number of shares held (>= 0, fractions allowed); a row with symbol ``cash`` (any case) holds
    the cash amount in its ``shares`` column. ``cash`` (the CLI's ``--cash``) gives it instead; giving both is an
    error. Bad rows raise :class:`InputError` naming the file, the 1-based data row (header excluded) and the problem.
    Symbols are checked against the warehouse later (:func:`propose`).
    """
    name = str(path)
    path = Path(path)
    if path.suffix.lower() not in HOLDINGS_SUFFIXES:
        raise InputError("unsupported holdings file type: use .csv or .parquet", file=name)
    if not path.is_file():
        raise InputError("holdings file not found", file=name)
    try:
        if path.suffix.lower() == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
        else:
            frame = pd.read_parquet(path)
    except Exception as exc:  # any parser, Arrow or I/O failure: the file is unusable
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise InputError(f"unreadable holdings file ({type(exc).__name__}: {reason})", file=name) from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    for column in HOLDINGS_COLUMNS:
        if column not in frame.columns:
            raise InputError(
                "missing required column (a holdings file has columns symbol,shares)", file=name, column=column
            )
    shares: dict[str, float] = {}
    rows: dict[str, int] = {}
    cash_row: int | None = None
    for row, (raw_symbol, raw_shares) in enumerate(zip(frame["symbol"], frame["shares"], strict=True), start=1):
        symbol = _text(raw_symbol)
        if not symbol:
            raise InputError("missing symbol", file=name, row=row, column="symbol")
        is_cash = symbol.lower() == CASH
        try:
            amount = _quantity(raw_shares, "cash" if is_cash else "shares")
        except ValueError as exc:
            raise InputError(str(exc), file=name, row=row, column="shares") from None
        if is_cash:
            if cash_row is not None:
                raise InputError(f"cash given twice (first on row {cash_row})", file=name, row=row, column="symbol")
            if cash is not None:
                raise InputError(
                    "cash given both in the file and as an amount (--cash): keep one",
                    file=name,
                    row=row,
                    column="symbol",
                )
            cash, cash_row = amount, row
        elif symbol in rows:
            raise InputError(
                f"duplicate symbol '{symbol}' (first on row {rows[symbol]})", file=name, row=row, column="symbol"
            )
        else:
            shares[symbol], rows[symbol] = amount, row
    return Holdings(name, shares, rows, cash)


def holdings_from(path: str | Path | None, cash: float | None = None) -> Holdings | None:
    """The portfolio from a holdings file and/or a cash amount; None when neither is given (the ``holdings``
    table, or all cash, stands in)."""
    if path is not None:
        return read_holdings(path, cash)
    if cash is not None:
        if not math.isfinite(cash) or cash < 0:
            raise InputError(f"cash must be a finite amount >= 0, got {cash}", file="--cash")
        return Holdings("cash only (--cash)", {}, {}, float(cash))
    return None


def _text(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value).strip()


def _quantity(value: Any, what: str) -> float:
    text = _text(value)
    if not text:
        raise ValueError(f"missing {what}")
    try:
        amount = float(text)
    except ValueError:
        raise ValueError(f"{what} is not a number: {text!r}") from None
    if not math.isfinite(amount):
        raise ValueError(f"{what} is not a finite number: {text!r}")
    if amount < 0:
        unsupported = "borrowing is" if what == "cash" else "short positions are"
        raise ValueError(f"negative {what} {text} ({unsupported} not supported)")
    return amount


def write_orders(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write the orders (or weights) table as CSV (:func:`format_orders`); returns the path."""
    path = Path(path)
    format_orders(frame).to_csv(path, index=False)
    return path


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


def market_snapshot(con: Any, symbols: list[str], as_of: dt.date) -> pd.DataFrame:
    """Per symbol of ``symbols`` known to ``securities`` (index): ``sector``, ``kind`` and its last close on or
    before ``as_of`` (``price``, ``price_date``; NaN / NaT when it has none). Unknown symbols are absent."""
    frame = con.execute(
        "SELECT s.symbol, s.sector, s.kind, p.close AS price, p.date AS price_date FROM securities s "
        "LEFT JOIN (SELECT symbol, max(date) AS date, arg_max(close, date) AS close FROM prices "
        "WHERE date <= ? AND list_contains(?, symbol) GROUP BY symbol) p USING (symbol) "
        "WHERE list_contains(?, s.symbol)",
        [as_of, symbols, symbols],
    ).df()
    return frame.set_index("symbol")


def check_holdings(holdings: Holdings, snapshot: pd.DataFrame, as_of: dt.date | None) -> None:
    """Every held symbol is a stock of the warehouse with a close in ``snapshot`` (:func:`market_snapshot` on or
    before ``as_of``, the decision date; None: any date); else :class:`InputError` naming the file and row."""
    for symbol, row in holdings.rows.items():
        where = {"file": holdings.source, "row": row, "column": "symbol"}
        if symbol not in snapshot.index:
            raise InputError(
                f"unknown symbol '{symbol}' (not in the warehouse's securities; symbols are case-sensitive)", **where
            )
        if snapshot.at[symbol, "kind"] != "stock":
            raise InputError(f"'{symbol}' is an {snapshot.at[symbol, 'kind']}, not a stock", **where)
        if pd.isna(snapshot.at[symbol, "price"]):
            when = f" on or before the decision date {as_of}" if as_of else " in the warehouse"
            raise InputError(f"'{symbol}' has no close{when}", **where)


# ------------------------------------------------------------------------------------------------------ stages
def propose(
    cfg: Config,
    system: Any,
    model_version: str,
    write: bool = True,
    holdings: Holdings | None = None,
    nav: float | None = None,
    today: dt.date | None = None,
) -> Proposal:
    """The proposal of ``system`` (a :class:`~hrl_sarp.system.TrainedSystem`) for the latest date in the
    warehouse against ``holdings`` (None: the ``holdings`` table), sized in shares when the NAV is known
    (``nav`` given, or ``holdings`` given); written to ``rebalance_proposals`` when ``write``. ``today`` (default:
    the system date) dates the staleness check."""
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
    decision_day = pd.Timestamp(np.asarray(arrays.dates).astype("datetime64[D]")[t]).date()
    as_of = str(decision_day)
    names = [str(s) for s in arrays.symbols]
    today = today or dt.date.today()
    warnings = [staleness_warning(decision_day, today, cfg.rebalance.max_staleness_sessions)]
    if nav is not None and not (math.isfinite(nav) and nav > 0):
        raise InputError(f"the NAV must be a positive amount, got {nav}", file="--nav")

    with open_warehouse(cfg.warehouse_path(), read_only=not write) as con:
        if holdings is None:
            held_on, current = current_holdings(con, np.datetime64(as_of))
            source = f"holdings table, as of {held_on}" if held_on else "none (all cash)"
            positions_key = f"{held_on}|{sorted(current.items())}"
        else:
            source = holdings.source
            positions_key = f"{sorted(holdings.shares.items())}|{holdings.cash}"
        held = list(holdings.shares) if holdings is not None else list(current)
        snapshot = market_snapshot(con, sorted(set(names) | set(held)), decision_day)

        shares: dict[str, float] | None = None
        cash_now = 0.0
        if holdings is not None:
            check_holdings(holdings, snapshot, decision_day)
            value = {s: q * float(snapshot.at[s, "price"]) for s, q in holdings.shares.items()}
            nav, cash_now = resolve_nav(float(sum(value.values())), holdings.cash, nav, holdings.source)
            current = {s: v / nav for s, v in value.items()}
            shares = dict(holdings.shares)
        elif nav is not None:
            cash_now = (1.0 - sum(current.values())) * nav
            shares = {s: w * nav / _price(snapshot, s, as_of, "the holdings table's") for s, w in current.items()}

        digest = hashlib.sha256(
            f"{as_of}|{model_version}|{arrays.build_id}|{positions_key}|{nav}".encode()
            if nav is not None
            else f"{as_of}|{model_version}|{arrays.build_id}|{positions_key}".encode()
        ).hexdigest()[:16]
        proposal_id = f"rb-{as_of}-{digest}"
        frame = order_frame(arrays.symbols, target, current, proposal_id, as_of, model_version, arrays.build_id)
        if write:
            with transaction(con):
                upsert(con, "rebalance_proposals", frame, key=["proposal_id", "symbol"])

    orders = None
    if nav is not None and shares is not None:
        lines = frame[frame["symbol"] != CASH]
        symbols = lines["symbol"].to_numpy()
        price = np.array([_price(snapshot, s, as_of, "targeted") for s in symbols])
        orders = orders_frame(
            symbols,
            snapshot["sector"].reindex(symbols).to_numpy(),
            price,
            snapshot["price_date"].reindex(symbols).to_numpy(),
            np.array([shares.get(s, 0.0) for s in symbols]),
            lines["target_weight"].to_numpy(),
            nav,
            cash_now,
            cfg.rebalance.lot_size,
        )
        dates = pd.to_datetime(snapshot["price_date"].reindex(symbols))
        for symbol, day in zip(symbols, dates, strict=True):
            if day.date() < decision_day:
                warnings.append(
                    f"{symbol}: last close on {day.date()}, before the decision date {as_of} (delisted or "
                    "suspended?): its order is priced at that close"
                )
    sectors = system.sector_weights(arrays, embeddings, t)
    return Proposal(
        proposal_id=proposal_id,
        as_of=as_of,
        model_version=model_version,
        build_id=arrays.build_id,
        frame=frame,
        sector_weights={str(s): float(w) for s, w in zip(arrays.sectors, sectors, strict=True)},
        regime=REGIMES[int(system.decisions(arrays, embeddings).regimes[t])],
        checks=checks,
        holdings=source,
        data_age_days=(today - decision_day).days,
        orders=orders,
        nav=nav,
        lot_size=cfg.rebalance.lot_size,
        warnings=tuple(w for w in warnings if w),
    )


def _price(snapshot: pd.DataFrame, symbol: str, as_of: str, role: str) -> float:
    price = snapshot["price"].get(symbol, np.nan)
    if pd.isna(price) or price <= 0:
        raise WarehouseStateError(
            f"no close for {role} symbol '{symbol}' on or before {as_of} in the warehouse: cannot size its order"
        )
    return float(price)


def log_proposal(cfg: Config, proposal: Proposal) -> str:
    """An MLflow ``rebalance`` run with the proposal's headline numbers, the orders table (``rebalance/orders.csv``;
    ``rebalance/proposal.csv`` with weights only when the NAV is unknown) and the summary; returns the run id."""
    from hrl_sarp import tracking

    summary = proposal.summary()
    metrics = {k: float(v) for k, v in summary.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    tags = {"proposal_id": proposal.proposal_id, "as_of": proposal.as_of, "model_version": proposal.model_version}
    with tempfile.TemporaryDirectory(prefix="hrl_sarp_rebalance_") as tmp:
        table = Path(tmp) / ("orders.csv" if proposal.orders is not None else "proposal.csv")
        write_orders(proposal.table(), table)
        summary_file = Path(tmp) / "summary.json"
        summary_file.write_text(json.dumps(summary, indent=2, default=str))
        with tracking.stage_run(cfg, "rebalance", tags=tags) as run:
            tracking.set_tags({"build_id": proposal.build_id, "holdings": proposal.holdings})
            tracking.log_metrics(metrics)
            tracking.log_artifact(table, "rebalance")
            tracking.log_artifact(summary_file, "rebalance")
    return str(run.info.run_id)


def rebalance(
    cfg: Config,
    write: bool = True,
    alias: str = "champion",
    holdings: Holdings | None = None,
    nav: float | None = None,
    out: str | Path | None = None,
    today: dt.date | None = None,
) -> Proposal:
    """Load ``models:/hrl-sarp@<alias>`` from the MLflow store of ``cfg`` and propose (see :func:`propose`).

    ``out``: write the orders CSV there (needs the NAV: ``holdings`` or ``nav``). With ``write`` the proposal goes
    to ``rebalance_proposals`` and to an MLflow ``rebalance`` run (:func:`log_proposal`); without, nothing but
    ``out`` is written.
    """
    from hrl_sarp import tracking
    from hrl_sarp.registry import load_champion

    if out is not None:  # checked before the model loads: a wrong argument should fail in a second
        if holdings is None and nav is None:
            raise InputError(
                "an orders file needs the portfolio's value: give a holdings file, --nav or --cash", file=str(out)
            )
        if not Path(out).expanduser().parent.is_dir():
            raise InputError("folder of the orders file does not exist", file=str(out))
    if holdings is not None and holdings.shares:  # unknown symbols, too, before the model loads
        from hrl_sarp.warehouse import open_warehouse

        with open_warehouse(cfg.warehouse_path(), read_only=True) as con:
            check_holdings(holdings, market_snapshot(con, list(holdings.shares), dt.date.max), None)
    if write:
        tracking.setup(cfg)
    else:  # a dry run reads the registry and writes nothing but --out
        tracking.use_existing_store(cfg)
    model, version = load_champion(alias=alias)
    system = model.unwrap_python_model().system
    proposal = propose(cfg, system, str(version.version), write=write, holdings=holdings, nav=nav, today=today)
    if out is not None:
        proposal = dataclasses.replace(
            proposal, orders_file=str(write_orders(proposal.table(), Path(out).expanduser()))
        )
    if write:
        proposal = dataclasses.replace(proposal, mlflow_run_id=log_proposal(cfg, proposal))
    return proposal
