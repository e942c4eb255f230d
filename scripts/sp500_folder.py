"""Write a real-data folder in the ``files`` layout from datasets that PyPI packages ship (no network needed).

    python scripts/sp500_folder.py DIR [--start YYYY-MM-DD] [--end YYYY-MM-DD]

What it writes (the install's ``realdata`` extra brings both packages):

- ``DIR/securities.csv``: the 20 S&P 500 stocks of skfolio's ``sp500_dataset`` (daily closes 1990-01-02 to
  2022-12-28, adjusted, rounded to 3 decimals, so low-priced names sit flat for days) in their 7 GICS sectors, and
  the S&P 500 index as one ``kind=index`` row with no sector.
- ``DIR/prices/stocks.csv`` and ``DIR/prices/index.csv``: ``date,symbol,close`` only (close-only, long format):
  20 x 8,313 + 8,313 = 174,573 rows over the full span.
- ``DIR/macro/macro.csv``: two real macro series from arch's FRED extracts, ``brent`` (daily WTI crude, USD/bbl,
  1986-2019; WTI stands in for Brent, which FRED starts in 1987) and ``credit_spread`` (Moody's BAA minus AAA
  yield, monthly, percentage points; published with ``available_at`` = first day of the next month), each from
  one year before the first price on.

Both series end before the prices do (2019 and 2018): later dates carry the last published value, as the
point-in-time feature build does for any stale series.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
from pathlib import Path

import pandas as pd

# GICS sectors of the 20 stocks in skfolio's sp500_dataset.
SECTORS: dict[str, str] = {
    "AAPL": "Information Technology",
    "AMD": "Information Technology",
    "MSFT": "Information Technology",
    "BAC": "Financials",
    "JPM": "Financials",
    "BBY": "Consumer Discretionary",
    "HD": "Consumer Discretionary",
    "CVX": "Energy",
    "RRC": "Energy",
    "XOM": "Energy",
    "GE": "Industrials",
    "JNJ": "Health Care",
    "LLY": "Health Care",
    "MRK": "Health Care",
    "PFE": "Health Care",
    "UNH": "Health Care",
    "KO": "Consumer Staples",
    "PEP": "Consumer Staples",
    "PG": "Consumer Staples",
    "WMT": "Consumer Staples",
}
INDEX_SYMBOL = "SP500"


def package_file(package: str, *parts: str) -> Path:
    """A data file inside an installed package, located without importing the package (both import slowly)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"error: package '{package}' is not installed (pip install -e '.[realdata]')")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.is_file():
        raise SystemExit(f"error: {path} not found in the installed '{package}' package")
    return path


def read_csv_gz(path: Path) -> pd.DataFrame:
    with gzip.open(path, "rt", encoding="utf-8-sig") as handle:
        return pd.read_csv(handle)


def write_folder(root: Path, start: str | None = None, end: str | None = None) -> dict[str, int]:
    """Write the folder; returns the row count of every file written."""
    stocks = read_csv_gz(package_file("skfolio", "datasets", "data", "sp500_dataset.csv.gz"))
    index = read_csv_gz(package_file("skfolio", "datasets", "data", "sp500_index.csv.gz"))
    wti = read_csv_gz(package_file("arch", "data", "wti", "wti.csv.gz"))
    bonds = read_csv_gz(package_file("arch", "data", "default", "default.csv.gz"))

    unknown = sorted(set(stocks.columns) - {"Date"} - set(SECTORS))
    if unknown:
        raise SystemExit(f"error: skfolio's sp500_dataset has symbols without a sector here: {unknown}")

    def span(frame: pd.DataFrame) -> pd.DataFrame:
        keep = pd.Series(True, index=frame.index)
        if start:
            keep &= frame["date"] >= start
        if end:
            keep &= frame["date"] <= end
        return frame[keep]

    stock_prices = span(
        stocks.rename(columns={"Date": "date"}).melt(id_vars="date", var_name="symbol", value_name="close").dropna()
    )
    index_prices = span(index.rename(columns={"Date": "date", INDEX_SYMBOL: "close"}).assign(symbol=INDEX_SYMBOL))

    wti_date = pd.to_datetime(wti["Date"], format="%m/%d/%Y")
    brent = pd.DataFrame(
        {
            "date": wti_date.dt.strftime("%Y-%m-%d"),
            "series": "brent",
            "value": pd.to_numeric(wti.iloc[:, 1], errors="coerce"),
        }
    ).dropna()
    month = pd.to_datetime(bonds["Date"], format="%m/%d/%Y")
    spread = pd.DataFrame(
        {
            "date": month.dt.strftime("%Y-%m-%d"),
            "series": "credit_spread",
            "value": (bonds["BAA"] - bonds["AAA"]).round(4),
            "available_at": (month + pd.offsets.MonthBegin(1)).dt.strftime("%Y-%m-%d"),
        }
    )
    macro = span(pd.concat([brent.assign(available_at=brent["date"]), spread], ignore_index=True))
    # From a year before the first price on: enough history for the 60-session crude window, not back to 1919.
    first_price = pd.Timestamp(stock_prices["date"].min()) - pd.DateOffset(years=1)
    macro = macro[macro["date"] >= first_price.strftime("%Y-%m-%d")]

    securities = pd.DataFrame(
        [{"symbol": s, "sector": sector, "kind": "stock"} for s, sector in SECTORS.items()]
        + [{"symbol": INDEX_SYMBOL, "sector": "", "kind": "index", "name": "S&P 500"}],
        columns=["symbol", "sector", "name", "kind"],
    )

    (root / "prices").mkdir(parents=True, exist_ok=True)
    (root / "macro").mkdir(exist_ok=True)
    files = {
        "securities.csv": securities,
        "prices/stocks.csv": stock_prices[["date", "symbol", "close"]],
        "prices/index.csv": index_prices[["date", "symbol", "close"]],
        "macro/macro.csv": macro[["date", "series", "value", "available_at"]],
    }
    for name, frame in files.items():
        frame.to_csv(root / name, index=False)
    return {name: len(frame) for name, frame in files.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, help="folder to write (created if missing)")
    parser.add_argument("--start", help="first date kept (YYYY-MM-DD); default: all")
    parser.add_argument("--end", help="last date kept (YYYY-MM-DD); default: all")
    args = parser.parse_args(argv)
    counts = write_folder(args.path, args.start, args.end)
    for name, rows in counts.items():
        print(f"{args.path / name}: {rows:,} rows")


if __name__ == "__main__":
    main()
