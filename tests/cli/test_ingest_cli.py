"""``hrl-sarp ingest`` / ``validate-data``: summaries, one-line errors, exit codes, the lock message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hrl_sarp.cli import main
from hrl_sarp.config import REPO_ROOT

HRL_SARP = REPO_ROOT / ".venv" / "bin" / "hrl-sarp"

ALL_BAD = [
    {"date": "2023-01-02", "symbol": "IT0", "close": "abc"},
    {"date": "2023-01-03", "symbol": "IT0", "close": -5.0},
]


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def _all_bad_folder(files_folder) -> Path:
    folder = files_folder(days=0, bad_prices=ALL_BAD)
    return folder


def test_ingest_json_summary_then_idempotent(tmp_path, files_folder, capsys):
    folder, warehouse = files_folder(days=15), tmp_path / "wh.duckdb"
    argv = ["ingest", "--source", "files", "--path", str(folder), "--warehouse", str(warehouse), "--json"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["table_counts"]["prices"] == 5 * 15 and first["rows_loaded"] > 0
    assert main(argv) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["rows_loaded"] == 0 and second["snapshot"] == first["snapshot"]


def test_ingest_lists_rejected_rows_on_stderr(tmp_path, files_folder, capsys):
    folder = files_folder(days=5, bad_prices=ALL_BAD)
    code = main(["ingest", "--source", "files", "--path", str(folder), "--warehouse", str(tmp_path / "w.duckdb")])
    out, err = capsys.readouterr()
    assert code == 0
    assert "rows_rejected: 2" in out and "rejected 2 rows" in err
    assert "abc" in err or "close" in err


def test_nothing_valid_exits_nonzero_with_one_line(tmp_path, files_folder, capsys):
    folder = _all_bad_folder(files_folder)
    code = main(["ingest", "--source", "files", "--path", str(folder), "--warehouse", str(tmp_path / "w.duckdb")])
    line = _one_error_line(capsys.readouterr().err)
    assert code != 0
    assert "nothing valid" in line and "close" in line


def test_nothing_valid_through_the_installed_command(tmp_path, files_folder):
    folder = _all_bad_folder(files_folder)
    done = subprocess.run(
        [str(HRL_SARP), "ingest", "--source", "files", "--path", str(folder), "--warehouse", str(tmp_path / "w.db")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert "nothing valid" in _one_error_line(done.stderr)


def test_validate_data_reports_and_writes_nothing(tmp_path, files_folder, capsys):
    folder, warehouse = files_folder(days=5, bad_prices=ALL_BAD), tmp_path / "w.duckdb"
    code = main(["validate-data", "--path", str(folder), "--warehouse", str(warehouse)])
    out, err = capsys.readouterr()
    assert code == 1 and "rows_rejected: 2" in out and "rejected 2 rows" in err
    assert not warehouse.exists()


def test_validate_data_runs_the_later_stages_on_a_throwaway_copy(tmp_path, files_folder, capsys):
    """Clean rows but too few sessions: the feature build would stop, and validate-data says so first."""
    warehouse = tmp_path / "w.duckdb"
    code = main(["validate-data", "--path", str(files_folder(days=20, name="short")), "--warehouse", str(warehouse)])
    err = capsys.readouterr().err
    assert code == 1 and "problem: features: " in err and "warmup_days" in err
    assert not warehouse.exists()

    clean = files_folder(days=300, name="clean")
    assert main(["validate-data", "--path", str(clean), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["problems"] == [] and report["rows_rejected"] == 0


def test_validate_data_names_a_missing_benchmark_and_a_short_split(tmp_path, files_folder, capsys):
    folder = files_folder(days=120, name="nobench")
    securities = folder / "securities.csv"
    securities.write_text(securities.read_text().replace("NIFTY50,Index,index", "NIFTY50,Index,stock"))
    assert main(["validate-data", "--path", str(folder), "--json"]) == 1
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert problems[0] == "benchmark: no index row in the data: equal-weighted stocks (add an index row)"
    assert problems[1].startswith("backtest: walk-forward backtest needs at least 152 sessions")


def test_missing_folder_is_one_line(tmp_path, capsys):
    code = main(["ingest", "--source", "files", "--path", str(tmp_path / "nope"), "--warehouse", str(tmp_path / "w")])
    assert code == 2
    assert "nope" in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "w").exists()


def test_bad_date_is_one_line(tmp_path, capsys):
    code = main(["ingest", "--start", "2024-99-01", "--warehouse", str(tmp_path / "w.duckdb")])
    assert code == 2  # a usage error, caught by the parser before the warehouse is created
    assert "argument --start: '2024-99-01' is not a date" in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "w.duckdb").exists()


def test_second_writer_gets_locked_message(tmp_path, capsys):
    warehouse = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(60)",
         str(warehouse)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ready"
        code = main(["ingest", "--source", "synthetic", "--warehouse", str(warehouse)])
    finally:
        holder.kill()
        holder.wait()
    line = _one_error_line(capsys.readouterr().err)
    assert code != 0 and "is locked by process" in line
