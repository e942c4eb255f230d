"""Raw-data validation: every bad-input case gets a one-line reason naming file, column and row; good rows load;
nothing is lost."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hrl_sarp.data.files import read_files
from hrl_sarp.data.market import RawMarket
from hrl_sarp.data.validation import (
    jsonable,
    parse_dates,
    parse_numbers,
    rejected_row_count,
    validate_market,
    validate_report,
)
from hrl_sarp.domain import TABLE_COLUMNS

SECURITIES = "symbol,sector\nAAA,IT\nBBB,Energy\nNIFTY,Index\n"
GOOD_ROWS = "2024-01-01,AAA,10.0\n2024-01-02,AAA,10.5\n"


def make_folder(root: Path, files: dict[str, str], securities: str = SECURITIES) -> Path:
    """A data folder under ``root``: ``files`` maps relative paths to their text."""
    for relative, text in {"securities.csv": securities, **files}.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def load_prices(tmp_path: Path, body: str, header: str = "date,symbol,close") -> tuple[RawMarket, list]:
    """Read and validate a folder whose only price file is ``prices/p.csv`` = header + body."""
    raw, file_rejections = read_files(make_folder(tmp_path / "d", {"prices/p.csv": f"{header}\n{body}"}))
    assert file_rejections == []
    return validate_market(raw, "files")


def only(rejections):
    assert len(rejections) == 1, [r.message() for r in rejections]
    return rejections[0]


# ------------------------------------------------------------------------------------------------ bad inputs


def test_unparseable_date(tmp_path):
    valid, rejections = load_prices(tmp_path, GOOD_ROWS + "13/02/2024,AAA,11.0\n")
    rejection = only(rejections)
    assert rejection.message() == "prices/p.csv:3: column 'date': unparseable date '13/02/2024'"
    assert (rejection.table, rejection.column, rejection.row) == ("prices", "date", 3)
    assert rejection.reason == "unparseable date '13/02/2024'"
    assert rejection.payload["date"] == "13/02/2024"
    assert len(valid.prices) == 2


@pytest.mark.parametrize("price", ["0", "-4.5"])
def test_zero_or_negative_price(tmp_path, price):
    valid, rejections = load_prices(tmp_path, GOOD_ROWS + f"2024-01-03,AAA,{price}\n")
    rejection = only(rejections)
    assert rejection.message() == f"prices/p.csv:3: column 'close': zero or negative price {float(price):g}"
    assert rejection.reason.startswith("zero or negative price")
    assert len(valid.prices) == 2


def test_zero_open_with_valid_close_names_open(tmp_path):
    valid, rejections = load_prices(
        tmp_path, "2024-01-01,AAA,10,10.5,9.5,10\n2024-01-02,AAA,0,10.5,9.5,10\n", "date,symbol,open,high,low,close"
    )
    assert only(rejections).message() == "prices/p.csv:2: column 'open': zero or negative price 0"
    assert len(valid.prices) == 1


@pytest.mark.parametrize("cell", ["", "NaN", "nan"])
def test_nan_close(tmp_path, cell):
    valid, rejections = load_prices(tmp_path, GOOD_ROWS + f"2024-01-03,AAA,{cell}\n")
    rejection = only(rejections)
    assert rejection.message() == "prices/p.csv:3: column 'close': NaN close (close is required)"
    assert rejection.payload["close"] is None
    assert len(valid.prices) == 2


def test_text_in_close_is_not_a_number(tmp_path):
    valid, rejections = load_prices(tmp_path, GOOD_ROWS + "2024-01-03,AAA,twelve\n")
    assert only(rejections).message() == "prices/p.csv:3: column 'close': not a number 'twelve'"
    assert len(valid.prices) == 2


def test_duplicate_symbol_date_with_conflicting_values_rejects_every_copy(tmp_path):
    body = GOOD_ROWS + "2024-01-03,AAA,11.0\n2024-01-03,AAA,11.2\n2024-01-04,AAA,12.0\n"
    valid, rejections = load_prices(tmp_path, body)
    assert [r.row for r in rejections] == [3, 4]
    expected = (
        "column 'symbol, date': conflicting duplicate of (symbol, date) = ('AAA', 2024-01-03): "
        "2 rows disagree (prices/p.csv:3, prices/p.csv:4)"
    )
    assert [r.message() for r in rejections] == [f"prices/p.csv:3: {expected}", f"prices/p.csv:4: {expected}"]
    assert rejections[0].payload["close"] == 11.0 and rejections[1].payload["close"] == 11.2
    assert valid.prices["date"].tolist() == list(pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-04"]))


def test_conflicting_duplicates_across_files_name_both_files(tmp_path):
    raw, _ = read_files(
        make_folder(
            tmp_path / "d",
            {
                "prices/a.csv": "date,symbol,close\n2024-01-01,AAA,10\n",
                "prices/b.csv": "date,symbol,close\n2024-01-01,AAA,11\n",
            },
        )
    )
    _, rejections = validate_market(raw, "files")
    assert [r.file for r in rejections] == ["prices/a.csv", "prices/b.csv"]
    assert "(prices/a.csv:1, prices/b.csv:1)" in rejections[0].reason


def test_exact_duplicates_collapse_silently_and_are_counted(tmp_path):
    body = GOOD_ROWS + "2024-01-02,AAA,10.5\n2024-01-02,AAA,10.5\n"
    raw, _ = read_files(make_folder(tmp_path / "d", {"prices/p.csv": "date,symbol,close\n" + body}))
    report = validate_report(raw, "files")
    assert report.rejections == []
    assert len(report.market.prices) == 2
    assert report.duplicates_collapsed["prices"] == 2
    assert report.market.prices.attrs["duplicates_collapsed"] == 2


def test_symbol_absent_from_securities(tmp_path):
    valid, rejections = load_prices(tmp_path, GOOD_ROWS + "2024-01-01,ZZZ,5.0\n")
    rejection = only(rejections)
    assert rejection.message() == "prices/p.csv:3: column 'symbol': symbol 'ZZZ' absent from securities"
    assert rejection.payload == {
        "date": "2024-01-01",
        "symbol": "ZZZ",
        "open": 5.0,
        "high": 5.0,
        "low": 5.0,
        "close": 5.0,
        "adj_close": 5.0,
        "volume": None,
        "delivery_pct": None,
    }
    assert len(valid.prices) == 2


def test_symbol_rejected_in_securities_says_so(tmp_path):
    securities = "symbol,sector\nAAA,IT\nBBB,Energy\nBBB,Metals\n"
    raw, _ = read_files(
        make_folder(
            tmp_path / "d", {"prices/p.csv": "date,symbol,close\n" + GOOD_ROWS + "2024-01-01,BBB,3\n"}, securities
        )
    )
    _, rejections = validate_market(raw, "files")
    messages = [r.message() for r in rejections]
    assert messages[:2] == [
        "securities.csv:2: column 'symbol': conflicting duplicate of (symbol) = ('BBB'): 2 rows disagree "
        "(securities.csv:2, securities.csv:3)",
        "securities.csv:3: column 'symbol': conflicting duplicate of (symbol) = ('BBB'): 2 rows disagree "
        "(securities.csv:2, securities.csv:3)",
    ]
    assert messages[2] == "prices/p.csv:3: column 'symbol': symbol 'BBB' was rejected in securities"


def test_fundamentals_symbol_absent_from_securities(tmp_path):
    raw, _ = read_files(
        make_folder(
            tmp_path / "d",
            {
                "prices/p.csv": "date,symbol,close\n" + GOOD_ROWS,
                "fundamentals/f.csv": "symbol,period_end,field,value\nAAA,2023-12-31,eps,1\nQQQ,2023-12-31,eps,2\n",
            },
        )
    )
    valid, rejections = validate_market(raw, "files")
    assert only(rejections).message() == "fundamentals/f.csv:2: column 'symbol': symbol 'QQQ' absent from securities"
    assert valid.fundamentals["symbol"].tolist() == ["AAA"]


def test_known_symbols_count_as_present(tmp_path):
    raw, _ = read_files(make_folder(tmp_path / "d", {"prices/p.csv": "date,symbol,close\n2024-01-01,OLD,5\n"}))
    valid, rejections = validate_market(raw, "files", known_symbols={"OLD"})
    assert rejections == [] and valid.prices["symbol"].tolist() == ["OLD"]


def test_macro_available_before_observation_is_rejected(tmp_path):
    raw, _ = read_files(
        make_folder(
            tmp_path / "d",
            {
                "prices/p.csv": "date,symbol,close\n" + GOOD_ROWS,
                "macro/m.csv": "date,series,value,available_at\n2024-01-02,fii_flow,-120.5,2024-01-03\n"
                "2024-01-03,fii_flow,80,2024-01-02\n",
            },
        )
    )
    valid, rejections = validate_market(raw, "files")
    assert only(rejections).message() == (
        "macro/m.csv:2: column 'available_at': available_at 2024-01-02 is before date 2024-01-03"
    )
    assert valid.macro["value"].tolist() == [-120.5]


def test_fundamentals_available_before_period_end_is_rejected(tmp_path):
    raw, _ = read_files(
        make_folder(
            tmp_path / "d",
            {
                "prices/p.csv": "date,symbol,close\n" + GOOD_ROWS,
                "fundamentals/f.csv": "symbol,period_end,field,value,available_at\nAAA,2023-12-31,eps,1,2023-12-01\n",
            },
        )
    )
    valid, rejections = validate_market(raw, "files")
    assert only(rejections).message() == (
        "fundamentals/f.csv:1: column 'available_at': available_at 2023-12-01 is before period_end 2023-12-31"
    )
    assert valid.fundamentals.empty


def test_inconsistent_ohlc_is_rejected(tmp_path):
    header = "date,symbol,open,high,low,close"
    valid, rejections = load_prices(tmp_path, "2024-01-01,AAA,10,11,9,10.5\n2024-01-02,AAA,10,9,11,10\n", header)
    assert only(rejections).message() == (
        "prices/p.csv:2: column 'high': inconsistent OHLC (open=10, high=9, low=11, close=10)"
    )
    assert len(valid.prices) == 1


def test_ohlc_rounding_noise_is_repaired_not_rejected(tmp_path):
    raw, _ = read_files(
        make_folder(
            tmp_path / "d", {"prices/p.csv": "date,symbol,open,high,low,close\n2024-01-01,AAA,10,10.5,9.5,10.5001\n"}
        )
    )
    report = validate_report(raw, "files")
    assert report.rejections == [] and report.ohlc_repaired == 1
    assert report.market.prices["high"].tolist() == [10.5001]


def test_negative_volume_and_delivery_out_of_range(tmp_path):
    header = "date,symbol,close,volume,delivery_pct"
    body = "2024-01-01,AAA,10,100,55\n2024-01-02,AAA,10,-1,55\n2024-01-03,AAA,10,100,140\n"
    valid, rejections = load_prices(tmp_path, body, header)
    assert [r.message() for r in rejections] == [
        "prices/p.csv:2: column 'volume': negative volume -1",
        "prices/p.csv:3: column 'delivery_pct': delivery_pct 140 outside [0, 100]",
    ]
    assert len(valid.prices) == 1


def test_securities_bad_kind_and_missing_sector(tmp_path):
    securities = "symbol,sector,kind\nAAA,IT,stock\nBBB,,stock\nCCC,IT,etf\nDDD,,\n"
    raw, _ = read_files(make_folder(tmp_path / "d", {"prices/p.csv": "date,symbol,close\n" + GOOD_ROWS}, securities))
    valid, rejections = validate_market(raw, "files")
    missing = "missing sector (a stock needs one; only kind=index rows may leave it blank)"
    assert [r.message() for r in rejections] == [
        f"securities.csv:2: column 'sector': {missing}",
        "securities.csv:3: column 'kind': kind 'etf' is not one of: stock, index",
        f"securities.csv:4: column 'sector': {missing}",  # a blank kind is a stock
    ]
    assert valid.securities["symbol"].tolist() == ["AAA"]


def test_index_row_needs_no_sector_and_its_prices_load(tmp_path):
    securities = "symbol,sector,kind\nAAA,IT,stock\nSP500,,index\n"
    prices = "date,symbol,close\n" + GOOD_ROWS + "2024-01-01,SP500,4700.1\n2024-01-02,SP500,4690.2\n"
    raw, _ = read_files(make_folder(tmp_path / "d", {"prices/p.csv": prices}, securities))
    valid, rejections = validate_market(raw, "files")
    assert rejections == []
    index = valid.securities.set_index("symbol").loc["SP500"]
    assert index["kind"] == "index" and pd.isna(index["sector"])
    assert (valid.prices["symbol"] == "SP500").sum() == 2


@pytest.mark.parametrize(
    ("series", "value", "domain"),
    [("india_vix", -3.0, "[0, inf]"), ("pcr", -0.5, "[0, inf]"), ("advances", -1.0, "[0, inf]")],
)
def test_macro_value_outside_its_domain_is_rejected(tmp_path, series, value, domain):
    macro = f"date,series,value\n2024-01-01,{series},{value}\n2024-01-02,{series},1.0\n2024-01-01,brent,-37.6\n"
    raw, _ = read_files(make_folder(tmp_path / "d", {"prices/p.csv": "date,symbol,close\n" + GOOD_ROWS,
                                                     "macro/m.csv": macro}))  # fmt: skip
    valid, rejections = validate_market(raw, "files")
    assert (
        only(rejections).message()
        == f"macro/m.csv:1: column 'value': {series} value {value:g} outside its domain {domain}"
    )
    assert len(valid.macro) == 2  # the good value and brent below zero (crude did trade there in 2020)


def test_fundamental_share_above_100_percent_is_rejected(tmp_path):
    fundamentals = "symbol,period_end,field,value\nAAA,2023-12-31,free_float_pct,120\nAAA,2023-12-31,roe,0.2\n"
    raw, _ = read_files(make_folder(tmp_path / "d", {"prices/p.csv": "date,symbol,close\n" + GOOD_ROWS,
                                                     "fundamentals/f.csv": fundamentals}))  # fmt: skip
    valid, rejections = validate_market(raw, "files")
    assert only(rejections).message() == (
        "fundamentals/f.csv:1: column 'value': free_float_pct value 120 outside its domain [0, 100]"
    )
    assert valid.fundamentals["field"].tolist() == ["roe"]


def test_sentiment_outside_unit_interval(tmp_path):
    raw, _ = read_files(
        make_folder(
            tmp_path / "d",
            {
                "prices/p.csv": "date,symbol,close\n" + GOOD_ROWS,
                "sentiment.csv": "date,sector,value\n2024-01-01,IT,1.5\n",
            },
        )
    )
    _, rejections = validate_market(raw, "files")
    assert only(rejections).message() == "sentiment.csv:1: column 'value': value 1.5 outside [-1, 1]"


def test_infinite_macro_value(tmp_path):
    raw, _ = read_files(
        make_folder(
            tmp_path / "d",
            {
                "prices/p.csv": "date,symbol,close\n" + GOOD_ROWS,
                "macro/m.csv": "date,series,value\n2024-01-01,pcr,inf\n",
            },
        )
    )
    _, rejections = validate_market(raw, "files")
    rejection = only(rejections)
    assert rejection.message() == "macro/m.csv:1: column 'value': non-finite value inf"
    assert (
        json.dumps(rejection.payload)
        == '{"date": "2024-01-01", "series": "pcr", "value": "inf", "available_at": "2024-01-01"}'
    )


# ------------------------------------------------------------------------------------------------ accounting


def test_every_input_row_is_output_rejected_or_collapsed(tmp_path):
    body = (
        GOOD_ROWS
        + "2024-01-03,AAA,-1\n"  # negative
        + "bad-date,AAA,5\n"  # unparseable
        + "2024-01-04,AAA,\n"  # NaN close
        + "2024-01-05,ZZZ,5\n"  # unknown symbol
        + "2024-01-06,AAA,7\n2024-01-06,AAA,8\n"  # conflict
        + "2024-01-07,AAA,9\n2024-01-07,AAA,9\n"  # exact duplicate
        + "2024-01-01,BBB,20\n"
    )
    root = make_folder(
        tmp_path / "d",
        {
            "prices/p.csv": "date,symbol,close\n" + body,
            "prices/q.csv": "date,symbol,volume\n2024-01-01,BBB,5\n2024-01-02,BBB,6\n",  # no close column
            "prices/r.parquet": "not parquet",
        },
    )
    raw, file_rejections = read_files(root)
    report = validate_report(raw, "files")
    total_in = len(body.splitlines()) + 2  # rows in p.csv and q.csv (r.parquet's count is unknown)
    out = len(report.market.prices)
    assert out == 4  # the 2 good AAA rows, the first copy of the exact duplicate, BBB
    rejected = rejected_row_count(file_rejections) + len([r for r in report.rejections if r.table == "prices"])
    assert out + rejected + report.duplicates_collapsed["prices"] == total_in
    for table, rows in report.rows_in.items():
        assert (
            rows
            == len(getattr(report.market, table)) + report.rows_rejected[table] + report.duplicates_collapsed[table]
        )


def test_rejection_payloads_are_json_with_string_dates(tmp_path):
    raw, _ = read_files(make_folder(tmp_path / "d", {"prices/p.csv": "date,symbol,close\n2024-01-01,ZZZ,5\n"}))
    raw.prices["date"] = pd.to_datetime(raw.prices["date"])  # typed dates (e.g. from Parquet) too
    _, rejections = validate_market(raw, "files")
    payload = only(rejections).payload
    assert json.loads(json.dumps(payload))["date"] == "2024-01-01"


def test_output_has_exact_columns_and_dtypes(tmp_path):
    raw, _ = read_files(make_folder(tmp_path / "d", {"prices/p.csv": "date,symbol,close\n" + GOOD_ROWS}))
    valid, _ = validate_market(raw, "files")
    for table, frame in valid.tables().items():
        assert list(frame.columns) == TABLE_COLUMNS[table], table
    prices = valid.prices
    assert str(prices["date"].dtype) == "datetime64[ns]"
    assert all(prices[c].dtype == np.float64 for c in ["open", "high", "low", "close", "adj_close", "volume"])
    assert pd.api.types.is_string_dtype(prices["symbol"].dtype)
    assert str(valid.securities["listed_on"].dtype) == "datetime64[ns]"
    assert str(valid.macro["available_at"].dtype) == "datetime64[ns]"


# ------------------------------------------------------------------------------------------------ other sources


def test_frames_without_provenance_use_table_name_and_position():
    raw = RawMarket(
        securities=pd.DataFrame({"symbol": ["AAA"], "sector": ["IT"], "kind": ["stock"]}),
        prices=pd.DataFrame(
            {
                "date": pd.to_datetime(["2024-01-01", "2024-01-02"]),
                "symbol": ["AAA", "AAA"],
                "close": [10.0, -2.0],
            }
        ),
    )
    valid, rejections = validate_market(raw, "synthetic")
    rejection = only(rejections)
    assert rejection.message() == "prices:2: column 'close': zero or negative price -2"
    assert rejection.source == "synthetic"
    assert len(valid.prices) == 1 and valid.prices["volume"].isna().all()


def test_timezone_aware_dates_keep_their_local_date():
    dates = pd.DatetimeIndex(["2024-01-02 00:00", "2024-01-03 00:00"]).tz_localize("Asia/Kolkata")
    raw = RawMarket(
        securities=pd.DataFrame({"symbol": ["AAA"], "sector": ["IT"]}),
        prices=pd.DataFrame({"date": dates, "symbol": "AAA", "close": [1.0, 2.0]}),
    )
    valid, rejections = validate_market(raw, "yfinance")
    assert rejections == []
    assert valid.prices["date"].tolist() == list(pd.to_datetime(["2024-01-02", "2024-01-03"]))


def test_empty_batch_gives_empty_typed_frames():
    valid, rejections = validate_market(RawMarket(), "synthetic")
    assert rejections == []
    assert valid.prices.empty and str(valid.prices["date"].dtype) == "datetime64[ns]"
    assert valid.prices["close"].dtype == np.float64


def test_parse_helpers_flag_only_given_values():
    dates, bad = parse_dates(pd.Series(["2024-01-05", "", None, "2024-13-01", "2024-01-05T15:30:00", "20240105"]))
    assert bad.tolist() == [False, False, False, True, False, False]
    assert dates.iloc[4] == pd.Timestamp("2024-01-05") and dates.iloc[5] == pd.Timestamp("2024-01-05")
    numbers, bad = parse_numbers(pd.Series(["1.5", " ", None, "x", "1e3"], dtype="object"))
    assert bad.tolist() == [False, False, False, True, False]
    assert numbers.iloc[4] == 1000.0


def test_jsonable_scalars():
    assert jsonable(np.datetime64("2024-01-05")) == "2024-01-05"
    assert jsonable(pd.Timestamp("2024-01-05 09:15")) == "2024-01-05T09:15:00"
    assert jsonable(pd.NaT) is None and jsonable(np.nan) is None and jsonable(pd.NA) is None
    assert jsonable(np.float64(1.5)) == 1.5 and jsonable(np.int64(3)) == 3 and jsonable(float("-inf")) == "-inf"
