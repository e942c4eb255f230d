"""Pandera model of the sector-embedding frame written by the sector GNN (``sector_embeddings``).

One row per (model_version, week_end, sector); ``embedding`` holds a list of finite floats of one common length
(the configured embedding dimension). :func:`validate_embeddings` raises :class:`EmbeddingValidationError` naming
the column and check.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors
from pandera.typing import Series

from hrl_sarp.domain import HrlSarpError


class EmbeddingValidationError(HrlSarpError):
    """The embedding frame broke its schema; the message names the column and check."""


def _lengths(values: pd.Series) -> np.ndarray:
    return values.map(lambda v: len(v) if v is not None else -1).to_numpy()


class SectorEmbeddings(pa.DataFrameModel):
    model_version: Series[str] = pa.Field(nullable=False, str_length={"min_value": 1})
    build_id: Series[str] = pa.Field(nullable=False)
    week_end: Series[pa.DateTime] = pa.Field(nullable=False)
    sector: Series[str] = pa.Field(nullable=False, str_length={"min_value": 1})
    embedding: Series[object] = pa.Field(nullable=False)

    class Config:
        strict = True
        unique = ["model_version", "week_end", "sector"]

    @pa.check("embedding", name="finite_values")
    @classmethod
    def _finite(cls, values: pd.Series) -> pd.Series:
        return values.map(lambda v: v is not None and len(v) > 0 and bool(np.isfinite(np.asarray(v, float)).all()))

    @pa.check("embedding", name="one_dimension")
    @classmethod
    def _one_dim(cls, values: pd.Series) -> bool:
        lengths = _lengths(values)
        return len(lengths) == 0 or bool((lengths == lengths[0]).all() and lengths[0] > 0)

    @pa.dataframe_check(name="every_sector_every_week")
    @classmethod
    def _complete(cls, frame: pd.DataFrame) -> bool:
        counts = frame.groupby(["model_version", "week_end"])["sector"].nunique()
        return counts.nunique() <= 1


def validate_embeddings(frame: pd.DataFrame, embedding_dim: int | None = None) -> pd.DataFrame:
    """Validate the frame (and, when given, that every embedding has ``embedding_dim`` values)."""
    try:
        out = SectorEmbeddings.validate(frame.reset_index(drop=True), lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
        first = cases.iloc[0]
        raise EmbeddingValidationError(
            f"sector_embeddings failed validation: column '{first['column']}' check '{first['check']}' "
            f"({len(cases)} failure(s))"
        ) from None
    if embedding_dim is not None and len(frame):
        lengths = _lengths(frame["embedding"])
        if (lengths != embedding_dim).any():
            raise EmbeddingValidationError(
                f"sector_embeddings failed validation: column 'embedding' has {int(lengths[0])} values, "
                f"expected gnn.embedding_dim={embedding_dim}"
            )
    return out
