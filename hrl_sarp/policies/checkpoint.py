"""Pretrained-network checkpoints: one ``.pt`` file holding the state dict and everything needed to rebuild it.

Phase 3/4 call :func:`load_network` (or :func:`read_checkpoint` for the raw payload) and then
``load_pretrained_macro`` / ``load_pretrained_micro`` to start PPO/TD3 from the pretrained weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from hrl_sarp.errors import WarehouseStateError
from hrl_sarp.policies import macro as macro_mod
from hrl_sarp.policies import micro as micro_mod
from hrl_sarp.policies.layout import MacroObsLayout, MicroObsLayout

KINDS = ("macro", "micro")


def save_checkpoint(path: str | Path, kind: str, network: torch.nn.Module, kwargs: dict[str, Any], meta: dict) -> Path:
    """Write ``{kind, kwargs, state_dict, meta}``; ``kwargs`` are the extractor's constructor kwargs."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().clone() for k, v in network.state_dict().items()}
    torch.save({"kind": kind, "kwargs": kwargs, "state_dict": state, "meta": meta}, path)
    return path


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise WarehouseStateError(f"checkpoint {path} does not exist: run `hrl-sarp train --phase 1|2` first")
    return torch.load(path, map_location="cpu", weights_only=False)


def build_network(kind: str, kwargs: dict[str, Any]) -> torch.nn.Module:
    """A fresh extractor of ``kind`` for constructor ``kwargs`` (observation space derived from the layout)."""
    if kind == "macro":
        layout = MacroObsLayout(kwargs["n_macro"], kwargs["n_sectors"], kwargs["embedding_dim"])
        return macro_mod.MacroFeaturesExtractor(macro_mod.observation_space(layout), **kwargs)
    layout = MicroObsLayout(kwargs["n_stocks"], kwargs["n_features"], kwargs["n_macro"], kwargs["n_sectors"])
    return micro_mod.MicroFeaturesExtractor(micro_mod.observation_space(layout), **kwargs)


def load_network(path: str | Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild a pretrained network in eval mode; returns ``(network, payload)``."""
    payload = read_checkpoint(path)
    network = build_network(payload["kind"], payload["kwargs"])
    network.load_state_dict(payload["state_dict"])
    network.eval()
    return network, payload
