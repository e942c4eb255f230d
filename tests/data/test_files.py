"""The files source: folder layout, defaults, provenance, and the folder-level errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hrl_sarp.data.files import FUNDAMENTALS_RELEASE_LAG_DAYS, read_files
from hrl_sarp.data.validation import rejected_row_count, validate_market
from hrl_sarp.domain import TABLE_COLUMNS
from hrl_sarp.errors import InputError

SECURITIES = """\
symbol,sector,kind
AAA,IT,
BBB,Energy,stock
CCC,Pharma,
NIFTY,Index,index
"""


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def make_folder(root: Path, securities: str | None = SECURITIES, **files: str) -> Path:
    """A data folder: ``files`` maps a relative path (``prices__a.csv`` -> ``prices/a.csv``) to its text."""
    root.mkdir(parents=True, exist_ok=True)
    if securities is not None:
        write(root, "securities.csv", securities)
    for name, text in files.items():
        write(root, name.replace("__", "/"), text)
    return root


def close_only(symbol: str, closes: list[float], start: str = "2024-01-01") -> str:
    dates = pd.bdate_range(start, periods=len(closes)).strftime("%Y-%m-%d")
    rows = "".join(f"{d},{symbol},{c}\n" for d, c in zip(dates, closes, strict=True))
    return "date,symbol,close\n" + rows


# ------------------------------------------------------------------------------------------------ happy paths


def test_close_only_csv_fills_ohlc_from_close_and_leaves_volume_empty(tmp_path):
    root = make_folder(tmp_path / "d", **{"prices__a.csv": close_only("AAA", [10.0, 10.5, 11.0])})
    raw, rejections = read_files(root)
    assert rejections == []
    prices = raw.prices
    assert list(prices.columns) == TABLE_COLUMNS["prices"] + ["_file", "_row"]
    assert len(prices) == 3
    for column in ("open", "high", "low", "adj_close"):
        np.testing.assert_array_equal(prices[column].astype(float), [10.0, 10.5, 11.0])
    assert prices["volume"].isna().all() and prices["delivery_pct"].isna().all()

    valid, rejected = validate_market(raw, "files")
    assert rejected == []
    assert len(valid.prices) == 3
    assert valid.prices["close"].tolist() == [10.0, 10.5, 11.0]
    assert str(valid.prices["date"].dtype) == "datetime64[ns]"


def test_provenance_names_file_relative_to_folder_and_one_based_data_row(tmp_path):
    root = make_folder(
        tmp_path / "d",
        **{"prices__a.csv": close_only("AAA", [1.0, 2.0]), "prices__b.csv": close_only("BBB", [3.0, 4.0, 5.0])},
    )
    raw, _ = read_files(root)
    assert raw.prices["_file"].tolist() == ["prices/a.csv"] * 2 + ["prices/b.csv"] * 3
    assert raw.prices["_row"].tolist() == [1, 2, 1, 2, 3]
    assert raw.securities["_file"].unique().tolist() == ["securities.csv"]
    assert raw.securities["_row"].tolist() == [1, 2, 3, 4]


def test_parquet_and_csv_load_together(tmp_path):
    root = make_folder(tmp_path / "d", **{"prices__a.csv": close_only("AAA", [10.0, 11.0])})
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "symbol": ["BBB", "BBB"],
            "open": [20.0, 21.0],
            "high": [21.0, 22.0],
            "low": [19.5, 20.5],
            "close": [20.5, 21.5],
            "volume": [1000, 1200],
        }
    )
    frame.to_parquet(root / "prices" / "b.parquet")
    raw, rejections = read_files(root)
    assert rejections == []
    valid, rejected = validate_market(raw, "files")
    assert rejected == []
    by_symbol = valid.prices.set_index(["symbol", "date"]).sort_index()
    assert len(by_symbol) == 4
    assert by_symbol.loc[("BBB", pd.Timestamp("2024-01-02")), "high"] == 22.0
    assert by_symbol.loc[("BBB", pd.Timestamp("2024-01-02")), "volume"] == 1200.0
    assert by_symbol.loc[("BBB", pd.Timestamp("2024-01-02")), "adj_close"] == 21.5
    assert np.isnan(by_symbol.loc[("AAA", pd.Timestamp("2024-01-02")), "volume"])


def test_parquet_securities_file_is_accepted(tmp_path):
    root = make_folder(tmp_path / "d", securities=None, **{"prices__a.csv": close_only("AAA", [1.0])})
    pd.DataFrame({"symbol": ["AAA"], "sector": ["IT"]}).to_parquet(root / "securities.parquet")
    raw, _ = read_files(root)
    valid, rejected = validate_market(raw, "files")
    assert rejected == [] and valid.securities["symbol"].tolist() == ["AAA"]
    assert valid.securities["kind"].tolist() == ["stock"]


def test_sector_count_comes_from_the_data_not_eleven(tmp_path):
    securities = "symbol,sector\nAAA,Banks\nBBB,Banks\nCCC,Mining\n"
    prices = close_only("AAA", [1.0, 2.0]) + close_only("BBB", [3.0, 4.0]).split("\n", 1)[1]
    prices += close_only("CCC", [5.0, 6.0]).split("\n", 1)[1]
    root = make_folder(tmp_path / "d", securities=securities, **{"prices__all.csv": prices})
    valid, rejected = validate_market(read_files(root)[0], "files")
    assert rejected == []
    assert sorted(valid.securities["sector"].unique()) == ["Banks", "Mining"]
    assert len(valid.prices) == 6


def test_headers_are_case_insensitive_and_extra_columns_ignored(tmp_path):
    text = "Date,Symbol,Open,High,Low,Close,Adj Close,Volume,Comment\n2024-01-01,AAA,9.5,10.5,9.0,10,9.8,500,hi\n"
    root = make_folder(tmp_path / "d", **{"prices__a.csv": text})
    raw, _ = read_files(root)
    assert "comment" not in raw.prices.columns
    valid, rejected = validate_market(raw, "files")
    assert rejected == []
    row = valid.prices.iloc[0]
    assert (row["open"], row["high"], row["low"], row["close"], row["adj_close"], row["volume"]) == (
        9.5,
        10.5,
        9.0,
        10.0,
        9.8,
        500.0,
    )


def test_open_without_high_low_derives_them_from_open_and_close(tmp_path):
    text = "date,symbol,open,close\n2024-01-01,AAA,9.0,10.0\n2024-01-02,AAA,11.0,10.0\n"
    valid, rejected = validate_market(read_files(make_folder(tmp_path / "d", **{"prices__a.csv": text}))[0], "files")
    assert rejected == []
    assert valid.prices["high"].tolist() == [10.0, 11.0]
    assert valid.prices["low"].tolist() == [9.0, 10.0]


def test_optional_tables_and_their_available_at_defaults(tmp_path):
    root = make_folder(
        tmp_path / "d",
        **{
            "prices__a.csv": close_only("AAA", [1.0]),
            "macro__m.csv": "date,series,value\n2024-01-01,india_vix,14.2\n",
            "macro__n.csv": "date,series,value,available_at\n2024-01-01,repo_rate,6.5,2024-01-03\n"
            "2024-01-02,repo_rate,6.5,\n",
            "fundamentals__f.csv": "symbol,period_end,field,value\nAAA,2023-12-31,eps,12.5\n",
            "sentiment__s.csv": "date,sector,value\n2024-01-01,IT,0.25\n",
            "events.csv": "date,event\n2024-02-01,BUDGET\n",
        },
    )
    raw, rejections = read_files(root)
    assert rejections == []
    valid, rejected = validate_market(raw, "files")
    assert rejected == []
    macro = valid.macro.set_index(["series", "date"])["available_at"]
    assert macro[("india_vix", pd.Timestamp("2024-01-01"))] == pd.Timestamp("2024-01-01")
    assert macro[("repo_rate", pd.Timestamp("2024-01-01"))] == pd.Timestamp("2024-01-03")
    assert macro[("repo_rate", pd.Timestamp("2024-01-02"))] == pd.Timestamp("2024-01-02")
    release = pd.Timestamp("2023-12-31") + pd.Timedelta(days=FUNDAMENTALS_RELEASE_LAG_DAYS)
    assert valid.fundamentals["available_at"].tolist() == [release] == [pd.Timestamp("2024-02-14")]
    assert valid.sentiment["available_at"].tolist() == [pd.Timestamp("2024-01-01")]
    assert valid.events["event"].tolist() == ["BUDGET"]


def test_fundamentals_default_release_from_parquet_dates(tmp_path):
    root = make_folder(tmp_path / "d", **{"prices__a.csv": close_only("AAA", [1.0])})
    (root / "fundamentals").mkdir()
    pd.DataFrame(
        {"symbol": ["AAA"], "period_end": pd.to_datetime(["2024-03-31"]), "field": ["roe"], "value": [0.18]}
    ).to_parquet(root / "fundamentals" / "f.parquet")
    valid, rejected = validate_market(read_files(root)[0], "files")
    assert rejected == []
    assert valid.fundamentals["available_at"].tolist() == [pd.Timestamp("2024-05-15")]


def test_absent_optional_tables_are_empty_frames(tmp_path):
    raw, _ = read_files(make_folder(tmp_path / "d", **{"prices__a.csv": close_only("AAA", [1.0])}))
    for table in ("macro", "fundamentals", "sentiment", "events"):
        frame = getattr(raw, table)
        assert frame.empty and list(frame.columns) == TABLE_COLUMNS[table] + ["_file", "_row"]


def test_missing_volume_logs_one_warning(tmp_path, caplog):
    root = make_folder(
        tmp_path / "d", **{"prices__a.csv": close_only("AAA", [1.0]), "prices__b.csv": close_only("BBB", [1.0])}
    )
    with caplog.at_level("WARNING", logger="hrl_sarp.data.files"):
        read_files(root)
    warnings = [r.getMessage() for r in caplog.records if "liquidity filter" in r.getMessage()]
    assert warnings == [
        "2 price file(s) without a volume column (first: prices/a.csv): the liquidity filter is off for them"
    ]


# ------------------------------------------------------------------------------------------------ bad files


def test_corrupt_parquet_is_a_file_rejection_and_other_files_load(tmp_path):
    root = make_folder(tmp_path / "d", **{"prices__good.csv": close_only("AAA", [1.0, 2.0])})
    (root / "prices" / "bad.parquet").write_bytes(b"PAR1 this is not parquet at all")
    raw, rejections = read_files(root)
    assert len(rejections) == 1
    rejection = rejections[0]
    assert (rejection.table, rejection.file, rejection.row, rejection.column) == (
        "prices",
        "prices/bad.parquet",
        None,
        None,
    )
    message = rejection.message()
    assert message.startswith("prices/bad.parquet: unreadable file (")
    assert "\n" not in message
    assert len(raw.prices) == 2
    valid, _ = validate_market(raw, "files")
    assert len(valid.prices) == 2


def test_corrupt_csv_is_a_file_rejection(tmp_path):
    root = make_folder(tmp_path / "d", **{"prices__good.csv": close_only("AAA", [1.0])})
    (root / "prices" / "bad.csv").write_bytes(b"date,symbol,close\n\xff\xfe\x00garbage,\x00\n")
    raw, rejections = read_files(root)
    assert [r.file for r in rejections] == ["prices/bad.csv"]
    assert rejections[0].message().startswith("prices/bad.csv: unreadable file (")
    assert len(raw.prices) == 1


def test_missing_required_column_rejects_that_file_and_names_the_column(tmp_path):
    root = make_folder(
        tmp_path / "d",
        **{
            "prices__good.csv": close_only("AAA", [1.0, 2.0]),
            "prices__noclose.csv": "date,symbol,open\n2024-01-01,BBB,5\n2024-01-02,BBB,6\n2024-01-03,BBB,7\n",
        },
    )
    raw, rejections = read_files(root)
    assert len(rejections) == 1
    rejection = rejections[0]
    assert rejection.column == "close" and rejection.row is None
    assert rejection.message() == (
        "prices/noclose.csv: column 'close': missing required column close: all 3 rows of the file rejected"
    )
    assert rejection.payload["rows"] == 3
    assert rejected_row_count(rejections) == 3
    valid, rejected = validate_market(raw, "files")
    assert rejected == [] and valid.prices["symbol"].tolist() == ["AAA", "AAA"]


def test_securities_without_sector_column_is_an_input_error(tmp_path):
    root = make_folder(
        tmp_path / "d", securities="symbol,name\nAAA,Alpha\n", **{"prices__a.csv": close_only("AAA", [1.0])}
    )
    with pytest.raises(InputError) as info:
        read_files(root)
    assert str(info.value) == (
        f"{root / 'securities.csv'}: column 'sector': missing required column sector: all 1 rows of the file rejected"
    )


def test_folder_without_securities_file_is_an_input_error(tmp_path):
    root = make_folder(tmp_path / "d", securities=None, **{"prices__a.csv": close_only("AAA", [1.0])})
    with pytest.raises(InputError) as info:
        read_files(root)
    message = str(info.value)
    assert message == (
        f"{root}: no securities file (expected securities.csv with columns symbol,sector[,name,kind,...])"
    )
    assert info.value.file == str(root) and "\n" not in message


def test_empty_folder_is_an_input_error(tmp_path):
    root = tmp_path / "empty"
    root.mkdir()
    (root / ".DS_Store").write_text("")  # hidden files do not count
    with pytest.raises(InputError) as info:
        read_files(root)
    assert str(info.value) == f"{root}: data folder is empty (expected securities.csv and prices/*.csv|parquet)"


def test_missing_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=r"nowhere: data folder not found$"):
        read_files(tmp_path / "nowhere")


def test_a_file_instead_of_a_folder_is_an_input_error(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("date,symbol,close\n")
    with pytest.raises(InputError, match="not a folder"):
        read_files(path)


def test_folder_without_price_files_is_an_input_error(tmp_path):
    root = make_folder(tmp_path / "d")
    with pytest.raises(InputError, match=r"no price files \(expected prices/\*\.csv or prices/\*\.parquet\)$"):
        read_files(root)
