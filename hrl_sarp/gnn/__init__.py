"""Sector GNN: weekly correlation graphs of sector returns -> walk-forward GCN/GAT embeddings (docs/gnn.md).

Imports are lazy so that reading embeddings (``load_embeddings``) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "load_embeddings": "hrl_sarp.gnn.store",
    "latest_model_version": "hrl_sarp.gnn.store",
    "model_version": "hrl_sarp.gnn.store",
    "fit_gnn": "hrl_sarp.gnn.fit",
    "fit_sector_embeddings": "hrl_sarp.gnn.fit",
    "GnnSummary": "hrl_sarp.gnn.fit",
    "GnnFit": "hrl_sarp.gnn.fit",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'hrl_sarp.gnn' has no attribute {name!r}")
