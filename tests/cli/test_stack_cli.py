"""``hrl-sarp run``: a deployment run through the local stack, from a shell that knows nothing of it."""

from hrl_sarp.cli import main


def test_run_without_a_stack_says_how_to_start_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HRL_SARP_STACK_DIR", str(tmp_path))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert main(["run", "train-all/weekly", "--watch", "--param", "profile=demo"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "error: the local stack is not running: start it with `make up` (or `hrl-sarp up`)"
    assert list(tmp_path.iterdir()) == []
