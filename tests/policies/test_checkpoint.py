import numpy as np
import pytest
import torch

from hrl_sarp.errors import WarehouseStateError
from hrl_sarp.policies import macro, micro
from hrl_sarp.policies.checkpoint import load_network, save_checkpoint


def test_macro_checkpoint_round_trip(tmp_path, macro_layout):
    kwargs = dict(n_macro=5, n_sectors=4, embedding_dim=3, hidden_dim=8, sector_id_dim=2)
    torch.manual_seed(0)
    net = macro.MacroFeaturesExtractor(macro.observation_space(macro_layout), **kwargs)
    net.set_normalization(np.arange(6.0), np.ones(6) * 2, np.zeros(3), np.ones(3))
    path = save_checkpoint(tmp_path / "m.pt", "macro", net, kwargs, {"stage": "pretrain_macro"})
    loaded, payload = load_network(path)
    assert payload["meta"]["stage"] == "pretrain_macro"
    obs = torch.randn(3, macro_layout.size)
    with torch.no_grad():
        torch.testing.assert_close(loaded.act(obs), net.act(obs))
    assert torch.equal(loaded.macro_mean, torch.arange(6.0))


def test_micro_checkpoint_round_trip(tmp_path, micro_layout, stock_sector):
    kwargs = dict(n_stocks=7, n_features=4, n_macro=5, n_sectors=3, stock_sector=stock_sector, hidden_dim=8)
    torch.manual_seed(0)
    net = micro.MicroFeaturesExtractor(micro.observation_space(micro_layout), **kwargs)
    path = save_checkpoint(tmp_path / "u.pt", "micro", net, kwargs, {})
    loaded, _ = load_network(path)
    assert loaded.stock_sector == stock_sector
    for key, value in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)


def test_missing_checkpoint_is_a_one_line_error(tmp_path):
    with pytest.raises(WarehouseStateError, match="train --phase"):
        load_network(tmp_path / "nope.pt")
