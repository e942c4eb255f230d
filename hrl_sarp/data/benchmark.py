"""Which index row is the benchmark: the one named in ``data.benchmark``, or the one the data makes obvious.

Rule when ``data.benchmark`` is unset (``None``), over the index rows (``kind = 'index'``) that have prices:

1. exactly one index row -> it;
2. several -> the only one whose sector is blank or not a sector of any stock (a market index, as opposed to
   sector indices that carry their sector, e.g. the synthetic market's ``NIFTY50`` with sector ``MARKET`` beside
   ``NIFTY_IT`` in ``IT``);
3. otherwise none: benchmark returns fall back to the equal-weighted mean of the stocks, with a note that names
   the candidates so the user can set ``data.benchmark``.

A configured name is used as given; when the data lacks it the same fallback applies, with a note.
"""

from __future__ import annotations

from dataclasses import dataclass

# The index symbol the generating sources (synthetic, yfinance's ^NSEI) write when data.benchmark is unset.
DEFAULT_INDEX_SYMBOL = "NIFTY50"


@dataclass(frozen=True)
class BenchmarkChoice:
    """``symbol`` None means no index: the equal-weighted stock mean stands in. ``how`` says why, in one line."""

    symbol: str | None
    how: str


def choose_benchmark(
    configured: str | None,
    index_sectors: dict[str, str | None],
    stock_sectors: set[str],
) -> BenchmarkChoice:
    """Apply the rule above. ``index_sectors``: symbol -> sector (None if blank) of every index row with prices."""
    if configured is not None:
        if configured in index_sectors:
            return BenchmarkChoice(configured, f"index '{configured}' (data.benchmark)")
        found = f"index rows with prices: {', '.join(sorted(index_sectors))}" if index_sectors else "no index rows"
        return BenchmarkChoice(
            None, f"data.benchmark '{configured}' is not an index row with prices ({found}): equal-weighted stocks"
        )
    if len(index_sectors) == 1:
        (symbol,) = index_sectors
        return BenchmarkChoice(symbol, f"index '{symbol}' (the only index row in the data)")
    market = sorted(s for s, sector in index_sectors.items() if sector is None or sector not in stock_sectors)
    if len(market) == 1:
        return BenchmarkChoice(market[0], f"index '{market[0]}' (the only index row that is not a sector index)")
    if not index_sectors:
        return BenchmarkChoice(None, "no index row in the data: equal-weighted stocks (add an index row)")
    return BenchmarkChoice(
        None,
        f"{len(index_sectors)} index rows ({', '.join(sorted(index_sectors))}) and data.benchmark unset: "
        "equal-weighted stocks (set data.benchmark to one of them)",
    )
