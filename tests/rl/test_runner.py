"""RL phases start from their own seed's pretrained networks, even when other seeds trained later."""

from hrl_sarp.config import Config
from hrl_sarp.policies import checkpoint
from hrl_sarp.rl.runner import _pretrained
from hrl_sarp.training.runner import record_checkpoint
from hrl_sarp.warehouse import open_warehouse


def test_each_seed_starts_from_its_own_pretrained_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint, "load_network", lambda path: (str(path), {"loaded": str(path)}))
    base = Config(warehouse=str(tmp_path / "wh.duckdb"))
    with open_warehouse(base.warehouse_path()):
        pass  # migrations
    paths = {}
    for seed in (42, 43, 44):  # trained in this order: 44's checkpoint is the newest
        cfg = base.model_copy(update={"seed": seed})
        paths[seed] = tmp_path / f"macro_{seed}.pt"
        paths[seed].write_bytes(b"x")
        record_checkpoint(cfg, "pretrain_macro", "fb-1", paths[seed], f"run-{seed}")
    for seed in (42, 43, 44):
        payload, network = _pretrained(base.model_copy(update={"seed": seed}), "pretrain_macro", "fb-1")
        assert network == str(paths[seed])
    # a config with no checkpoint of its own falls back to the build's newest
    assert _pretrained(base.model_copy(update={"seed": 7}), "pretrain_macro", "fb-1")[1] == str(paths[44])
