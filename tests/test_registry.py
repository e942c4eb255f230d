"""The registered MLflow model: loading ``models:/hrl-sarp@champion`` in a fresh process reproduces the backtest's
weights for a date; the champion alias moves only for a better validation Sharpe."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hrl_sarp.config import REPO_ROOT
from tests.system_fixture import build_system, build_warehouse, fast_config


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("registry")
    before = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'mlflow.db'}"
    cfg = fast_config(root)
    build_warehouse(cfg)
    folder = build_system(cfg, root / "system", seed=0, sb3=True)
    yield cfg, folder, root
    if before is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = before


def _predict_in_fresh_process(root: Path, warehouse: Path, dates: list[str]) -> list[dict]:
    script = (
        "import json, sys, mlflow, pandas as pd\n"
        "model = mlflow.pyfunc.load_model('models:/hrl-sarp@champion')\n"
        "out = model.predict(pd.DataFrame({'date': sys.argv[1:]}))\n"
        "out['date'] = out['date'].astype(str); out['as_of'] = out['as_of'].astype(str)\n"
        "print('RESULT ' + json.dumps(out.to_dict('records')))\n"
    )
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}", "HRL_SARP_WAREHOUSE": str(warehouse)}
    done = subprocess.run(
        [sys.executable, "-c", script, *dates], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def test_champion_in_fresh_process_reproduces_backtest_weights(setup):
    from hrl_sarp import tracking
    from hrl_sarp.backtest.evaluate import evaluate
    from hrl_sarp.registry import CHAMPION, register_system
    from hrl_sarp.system import TrainedSystem, load_system_inputs

    cfg, folder, root = setup
    arrays, embeddings, _ = load_system_inputs(cfg.warehouse_path())
    system = TrainedSystem(folder)
    assert system.kind == "rl"
    evaluation = evaluate(arrays, cfg, system, embeddings, seeds=[0])
    with tracking.stage_run(cfg, "register-test"):
        registration = register_system(folder, inputs=(arrays, embeddings))
    assert registration.alias == CHAMPION and registration.previous_champion is None

    first_row = evaluation.plan.test_start - 1
    later_row = sorted(evaluation.hrl_targets)[5]
    rows = [first_row, later_row]
    dates = [str(arrays.dates[r]) for r in rows]
    predicted = _predict_in_fresh_process(root, cfg.warehouse_path(), dates)
    symbols = [str(s) for s in arrays.symbols]
    for row, record in zip(rows, predicted, strict=True):
        weights = np.array([record[s] for s in symbols])
        target = evaluation.hrl_targets[row]
        assert record["as_of"].startswith(str(arrays.dates[row]))
        np.testing.assert_allclose(weights, target, rtol=0, atol=1e-10)
        assert record["cash"] == pytest.approx(1.0 - target.sum(), abs=1e-12)
        assert target.std() > 1e-4  # a real allocation, not a constant
    # the first decision starts from cash with the gate open: the simulator executes exactly the target
    executed = evaluation.result.results["hrl_sarp"][0].weights[0]
    np.testing.assert_allclose(executed, evaluation.hrl_targets[first_row], rtol=0, atol=1e-10)


def test_champion_moves_only_for_a_better_validation_sharpe(setup, tmp_path):
    from mlflow import MlflowClient

    from hrl_sarp import tracking
    from hrl_sarp.registry import CHALLENGER, CHAMPION, MODEL_NAME, current_champion, register_system
    from hrl_sarp.system import SYSTEM_FILE, load_system_inputs

    cfg, folder, _ = setup
    arrays, embeddings, _ = load_system_inputs(cfg.warehouse_path())
    tracking.setup(cfg)
    with tracking.stage_run(cfg, "register-test"):
        if current_champion() is None:
            register_system(folder, inputs=(arrays, embeddings))
        champion = current_champion()
        score = float(champion.tags["val_sharpe"])

        def variant(name: str, delta: float | None) -> Path:
            copy = shutil.copytree(folder, tmp_path / name)
            meta = json.loads((copy / SYSTEM_FILE).read_text())
            meta["val_sharpe"] = None if delta is None else score + delta
            meta["variant"] = name
            (copy / SYSTEM_FILE).write_text(json.dumps(meta))
            return copy

        # the same system again with the same score: no new version (a forced re-run must not add one)
        versions = len(MlflowClient().search_model_versions(f"name = '{MODEL_NAME}'"))
        again = register_system(folder, inputs=(arrays, embeddings))
        assert again.unchanged and again.version == str(champion.version) and again.alias == CHAMPION
        assert len(MlflowClient().search_model_versions(f"name = '{MODEL_NAME}'")) == versions

        # other files, the same networks, scored on the same rows: a tie is not a win
        tie = register_system(variant("tie", None), inputs=(arrays, embeddings))
        assert not tie.unchanged and tie.alias == CHALLENGER
        assert tie.champion_val_sharpe == pytest.approx(score, abs=1e-12)

        worse = register_system(variant("worse", -0.5))
        assert worse.alias == CHALLENGER and worse.previous_champion == str(champion.version)
        better = register_system(variant("better", +0.5))
        assert better.alias == CHAMPION and better.champion_val_sharpe == pytest.approx(score)
    client = MlflowClient()
    assert str(client.get_model_version_by_alias(MODEL_NAME, CHAMPION).version) == better.version
    assert str(client.get_model_version_by_alias(MODEL_NAME, CHALLENGER).version) == worse.version
    assert float(client.get_model_version(MODEL_NAME, better.version).tags["val_sharpe"]) == pytest.approx(score + 0.5)


def test_a_champion_this_code_cannot_load_is_replaced(setup, tmp_path, caplog, monkeypatch):
    """A champion whose networks an older version of the code wrote (torch refuses the state dict: "loaded state
    dict contains a parameter group that doesn't match the size of optimizer's group") could not serve a
    rebalance: registration warns and the new system becomes champion, whatever the old one recorded."""
    import mlflow

    from hrl_sarp import tracking
    from hrl_sarp.registry import CHAMPION, current_champion, register_system
    from hrl_sarp.system import SYSTEM_FILE, load_system_inputs

    cfg, folder, _ = setup
    arrays, embeddings, _ = load_system_inputs(cfg.warehouse_path())
    old = shutil.copytree(folder, tmp_path / "old")
    meta = json.loads((old / SYSTEM_FILE).read_text())
    meta["val_sharpe"] = 99.0  # a recorded score no new system beats
    (old / SYSTEM_FILE).write_text(json.dumps(meta))
    tracking.setup(cfg)
    with tracking.stage_run(cfg, "register-unloadable"):
        first = register_system(old)  # without inputs: registered on its recorded score, the best so far
        assert first.alias == CHAMPION and str(current_champion().version) == first.version

        def older_networks(uri, *args, **kwargs):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of optimizer's")

        monkeypatch.setattr(mlflow.pyfunc, "load_model", older_networks)
        with caplog.at_level("WARNING", logger="hrl_sarp.registry"):
            new = register_system(folder, inputs=(arrays, embeddings))
    assert new.alias == CHAMPION and new.champion_val_sharpe is None and new.previous_champion == first.version
    assert any("cannot be loaded by this code" in r.getMessage() for r in caplog.records)


def test_fingerprint_ignores_when_a_zip_was_saved_not_what_it_holds(setup, tmp_path):
    import zipfile

    from hrl_sarp.registry import system_fingerprint

    _, folder, _ = setup
    zips = sorted(Path(folder).glob("*.zip"))
    assert zips, "the fixture system has SB3 zips"

    def rewritten(name: str, member: str, payload: bytes) -> Path:
        copy = shutil.copytree(folder, tmp_path / name)
        source = copy / zips[0].name
        with zipfile.ZipFile(source) as archive:
            members = {m: archive.read(m) for m in archive.namelist()}
        members[member] = payload
        with zipfile.ZipFile(source, "w") as archive:
            for key in sorted(members):
                archive.writestr(key, members[key])
        return copy

    data = json.loads(zipfile.ZipFile(zips[0]).read("data"))
    data["start_time"] = 1
    resaved = rewritten("resaved", "data", json.dumps(data).encode())
    assert system_fingerprint(resaved) == system_fingerprint(folder)
    retrained = rewritten("retrained", "policy.pth", b"other weights")
    assert system_fingerprint(retrained) != system_fingerprint(folder)


def test_fingerprint_of_pretrained_checkpoints_ignores_the_run_that_wrote_them(tmp_path):
    import torch

    from hrl_sarp.policies.checkpoint import save_checkpoint
    from hrl_sarp.registry import system_fingerprint

    torch.manual_seed(0)
    network = torch.nn.Linear(3, 2)
    for name, run in (("first", "run-a"), ("again", "run-b")):
        (tmp_path / name).mkdir()
        save_checkpoint(tmp_path / name / "macro.pt", "macro", network, {"hidden_dim": 4}, {"mlflow_run_id": run})
    assert system_fingerprint(tmp_path / "first") == system_fingerprint(tmp_path / "again")
    with torch.no_grad():
        network.bias += 1.0
    (tmp_path / "other").mkdir()
    save_checkpoint(tmp_path / "other" / "macro.pt", "macro", network, {"hidden_dim": 4}, {"mlflow_run_id": "run-a"})
    assert system_fingerprint(tmp_path / "other") != system_fingerprint(tmp_path / "first")
