"""The raw Pandera models: columns agree with the market contract, and each rule fires with its check name."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest

from hrl_sarp.domain import TABLE_COLUMNS
from schemas.raw import (
    RAW_SCHEMAS,
    FundamentalsSchema,
    MacroSchema,
    PricesSchema,
    SecuritiesSchema,
    SentimentSchema,
)


def dates(*values: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values))).astype("datetime64[ns]")


def prices(**overrides) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "date": dates("2024-01-01", "2024-01-02"),
            "symbol": pd.Series(["AAA", "AAA"], dtype="str"),
            "open": [10.0, 10.5],
            "high": [10.6, 11.0],
            "low": [9.9, 10.4],
            "close": [10.5, 10.9],
            "adj_close": [10.5, 10.9],
            "volume": [1000.0, float("nan")],
            "delivery_pct": [45.0, float("nan")],
        }
    )
    for column, values in overrides.items():
        frame[column] = values
    return frame


def failures(model: type[pa.DataFrameModel], frame: pd.DataFrame) -> set[tuple[str | None, str, int]]:
    with pytest.raises(pa.errors.SchemaErrors) as info:
        model.validate(frame, lazy=True)
    cases = info.value.failure_cases
    return {(c, str(k), int(i)) for c, k, i in zip(cases["column"], cases["check"], cases["index"], strict=True)}


@pytest.mark.parametrize("table", list(TABLE_COLUMNS))
def test_models_name_exactly_the_contract_columns(table):
    assert list(RAW_SCHEMAS[table].to_schema().columns) == TABLE_COLUMNS[table]


def test_valid_prices_pass():
    PricesSchema.validate(prices())


def test_price_rules():
    assert ("close", "greater_than(0)", 1) in failures(PricesSchema, prices(close=[10.5, 0.0]))
    assert ("close", "not_nullable", 0) in failures(PricesSchema, prices(close=[float("nan"), 10.9]))
    assert ("volume", "greater_than_or_equal_to(0)", 0) in failures(PricesSchema, prices(volume=[-1.0, 2.0]))
    found = failures(PricesSchema, prices(high=[9.0, 11.0]))
    assert {(k, i) for _, k, i in found} == {("ohlc_consistent", 0)}


def test_prices_are_unique_per_symbol_and_date():
    frame = prices(date=dates("2024-01-01", "2024-01-01"))
    assert any(k == "multiple_fields_uniqueness" for _, k, _ in failures(PricesSchema, frame))


def test_prices_reject_extra_columns_and_wrong_dtypes():
    with pytest.raises(pa.errors.SchemaErrors):
        PricesSchema.validate(prices().assign(extra=1), lazy=True)
    with pytest.raises(pa.errors.SchemaErrors):
        PricesSchema.validate(prices(date=["2024-01-01", "2024-01-02"]), lazy=True)


def test_point_in_time_rules():
    macro = pd.DataFrame(
        {
            "date": dates("2024-01-02", "2024-01-03"),
            "series": pd.Series(["india_vix", "india_vix"], dtype="str"),
            "value": [14.0, float("inf")],
            "available_at": dates("2024-01-01", "2024-01-03"),
        }
    )
    found = failures(MacroSchema, macro)
    assert ("value", "finite", 1) in found
    assert ("available_at", "available_not_before_date", 0) in found
    fundamentals = pd.DataFrame(
        {
            "symbol": pd.Series(["AAA"], dtype="str"),
            "period_end": dates("2024-03-31"),
            "field": pd.Series(["eps"], dtype="str"),
            "value": [1.0],
            "available_at": dates("2024-03-30"),
        }
    )
    assert ("period_end", "available_not_before_period_end", 0) in failures(FundamentalsSchema, fundamentals)


def test_securities_and_sentiment_rules():
    securities = pd.DataFrame(
        {
            "symbol": pd.Series(["AAA", "BBB"], dtype="str"),
            "sector": pd.Series(["IT", "IT"], dtype="str"),
            "name": pd.Series([None, None], dtype="str"),
            "kind": pd.Series(["stock", "etf"], dtype="str"),
            "listed_on": dates("2020-01-01", "2020-01-01"),
            "delisted_on": pd.Series([pd.NaT, pd.Timestamp("2019-01-01")], dtype="datetime64[ns]"),
        }
    )
    found = failures(SecuritiesSchema, securities)
    assert ("kind", "isin(['stock', 'index'])", 1) in found
    assert ("delisted_on", "delisted_not_before_listed", 1) in found
    sentiment = pd.DataFrame(
        {
            "date": dates("2024-01-01"),
            "sector": pd.Series(["IT"], dtype="str"),
            "value": [1.2],
            "available_at": dates("2024-01-01"),
        }
    )
    assert ("value", "less_than_or_equal_to(1)", 0) in failures(SentimentSchema, sentiment)
