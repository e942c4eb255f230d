"""Shared task helpers: the cross-run cache policy ignores run-scoped inputs; code and content hashes track files."""

from __future__ import annotations

from prefect.cache_policies import CompoundCachePolicy, Inputs, TaskSource

from tasks.common import RESULTS_ENV, cached_task_options, code_hash, content_hash, cross_run_cache, results_dir


def test_cache_policy_is_inputs_plus_task_source_without_run_ids():
    policy = cross_run_cache()
    assert isinstance(policy, CompoundCachePolicy)
    kinds = [type(p) for p in policy.policies]
    assert TaskSource in kinds and Inputs in kinds
    inputs = next(p for p in policy.policies if isinstance(p, Inputs))
    assert set(inputs.exclude) == {"parent_run_id", "flow_run_id", "dask_address"}
    options = cached_task_options()
    assert options["persist_result"] is True


def test_inputs_key_ignores_excluded_names():
    inputs = next(p for p in cross_run_cache().policies if isinstance(p, Inputs))
    a = inputs.compute_key(None, {"snapshot": "s1", "parent_run_id": "run-a"}, {})
    b = inputs.compute_key(None, {"snapshot": "s1", "parent_run_id": "run-b"}, {})
    c = inputs.compute_key(None, {"snapshot": "s2", "parent_run_id": "run-a"}, {})
    assert a == b != c


def test_results_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(RESULTS_ENV, str(tmp_path / "results"))
    assert results_dir() == (tmp_path / "results").resolve()
    assert (tmp_path / "results").is_dir()


def test_code_hash_changes_with_any_source_file(tmp_path):
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "a.py").write_text("x = 1\n")
    (folder / "notes.txt").write_text("ignored")
    first = code_hash(folder)
    (folder / "notes.txt").write_text("still ignored")
    assert code_hash(folder) == first
    (folder / "a.py").write_text("x = 2\n")
    assert code_hash(folder) != first
    assert len(first) == 16


def test_content_hash_sees_new_and_changed_files(tmp_path):
    (tmp_path / "prices.csv").write_text("a\n")
    first = content_hash(tmp_path)
    (tmp_path / "more.csv").write_text("b\n")
    second = content_hash(tmp_path)
    assert first != second
    assert content_hash(tmp_path) == second


def test_import_closure_follows_lazy_imports_and_leaves_config_out():
    from tasks.common import CLOSURE_EXCLUDE, import_closure

    closure = set(import_closure("flows/backtest.py"))
    # flows/backtest -> tasks/backtest -> (inside functions) hrl_sarp.backtest.stage -> hrl_sarp.system -> rl, envs
    assert {"tasks/backtest.py", "hrl_sarp/backtest/stage.py", "hrl_sarp/system.py"} <= closure
    assert {"hrl_sarp/envs/simulator.py", "hrl_sarp/rl/layers.py", "hrl_sarp/registry.py"} <= closure
    assert not closure & set(CLOSURE_EXCLUDE)
    ingest = set(import_closure("flows/ingest.py"))
    assert {"hrl_sarp/ingest.py", "hrl_sarp/data/validation.py", "schemas/raw.py"} <= ingest
    assert not any(path.startswith(("hrl_sarp/rl/", "hrl_sarp/gnn/")) for path in ingest)


def test_every_stage_is_keyed_on_the_code_its_flow_imports():
    from flows.train_all import STAGES
    from tasks.common import import_closure

    for stage in STAGES:
        closure = import_closure(stage.flow_file())
        assert stage.flow_file() in closure, stage.name
        assert any(path.startswith("hrl_sarp/") for path in closure), stage.name
