import json

from hrl_sarp import warehouse as wh
from hrl_sarp.cli import main
from hrl_sarp.rl import runner


def test_train_phase_3_to_5_dispatch_to_rl(monkeypatch, capsys, tmp_path):
    calls = []

    def fake_run_phase(cfg, phase, inputs=None, parent_run_id=None, hierarchy=None):
        calls.append((phase, cfg.warehouse, cfg.profile))
        return {"stage": f"rl_phase{phase}", "val_sharpe": 1.5, "val_sharpe_phase2_only": 1.1,
                "val_sharpe_equal_weight": 1.2, "_hierarchy": object()}  # fmt: skip

    monkeypatch.setattr(runner, "run_phase", fake_run_phase)
    warehouse = str(tmp_path / "wh.duckdb")
    wh.connect(warehouse).close()  # `train` works on an existing warehouse
    for phase in (3, 4, 5):
        assert main(["train", "--phase", str(phase), "--profile", "demo", "--warehouse", warehouse, "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["phase"] == phase and summary["stage"] == f"rl_phase{phase}"
        assert summary["val_sharpe_equal_weight"] == 1.2 and "_hierarchy" not in summary
    assert calls == [(3, warehouse, "demo"), (4, warehouse, "demo"), (5, warehouse, "demo")]


def test_train_phase_without_checkpoints_is_a_one_line_error(capsys, tmp_path):
    code = main(["train", "--phase", "3", "--warehouse", str(tmp_path / "missing.duckdb")])
    err = capsys.readouterr().err.strip()
    assert code != 0 and err.startswith("error: ") and len(err.splitlines()) == 1
