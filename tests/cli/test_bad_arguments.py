"""Every subcommand, given bad arguments, answers with one ``error:`` line and no traceback, exits 2 for a usage
error and 1 for a failure, and creates no file.

The subcommands and their options are read from :func:`hrl_sarp.cli.build_parser`, so a new subcommand or option is
walked too. The walk calls :func:`hrl_sarp.cli.main` in-process with every handler replaced by one that fails the
test: a bad argument must be stopped before any stage code runs. Two cases run the installed command.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

import pytest

import hrl_sarp.cli as cli
from hrl_sarp.cli import DEBUG_ENV, build_parser, describe_error, main
from hrl_sarp.config import REPO_ROOT, available_profiles

HRL_SARP = REPO_ROOT / ".venv" / "bin" / "hrl-sarp"
USAGE, FAILURE = 2, 1
# Option types whose values the parser checks: int, float and the validators defined in hrl_sarp.cli (anything
# else, str or Path, takes any text, so it is not walked).
CHECKED_TYPES = {int, float}
# A valid value for each required argument whose type checks its text.
VALID = {"deployment": "train-all/weekly"}


def _checked(action: argparse.Action) -> bool:
    return action.type in CHECKED_TYPES or getattr(action.type, "__module__", "").startswith("hrl_sarp.cli")


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


SUBCOMMANDS = _subcommands(build_parser())


def _options(sub: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in sub._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]


def _positionals(sub: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in sub._actions if not a.option_strings]


def _required_args(sub: argparse.ArgumentParser, but: argparse.Action | None = None) -> list[str]:
    """A valid value for every required argument but ``but`` (the first of its choices; a placeholder for free
    text), so that a case reaches the argument under test."""
    args = []
    for action in [*_positionals(sub), *_options(sub)]:
        if not action.required or action is but:
            continue
        name = action.option_strings[0] if action.option_strings else action.metavar or action.dest
        assert action.choices or action.type is None or action.dest in VALID, (
            f"{name} is required: give this test a valid value for it (VALID)"
        )
        value = VALID.get(action.dest) or (str(next(iter(action.choices))) if action.choices else "placeholder")
        args += [*action.option_strings[:1], value]
    return args


def _handler_must_not_run(args: argparse.Namespace) -> dict:
    pytest.fail(f"`{args.command}` ran its handler on bad arguments")


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """An empty working directory, a default warehouse that does not exist, and handlers that fail the test.

    On teardown: nothing was created in the working directory or at the absent warehouse's folder.
    """
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("HRL_SARP_WAREHOUSE", str(tmp_path / "absent" / "wh.duckdb"))
    monkeypatch.delenv(DEBUG_ENV, raising=False)

    def guarded_parser() -> argparse.ArgumentParser:
        parser = build_parser()
        for sub in _subcommands(parser).values():
            sub.set_defaults(handler=_handler_must_not_run)
        return parser

    monkeypatch.setattr(cli, "build_parser", guarded_parser)
    yield tmp_path
    assert list(cwd.iterdir()) == []
    assert not (tmp_path / "absent").exists()


def _one_error_line(out: str, err: str) -> str:
    """The single ``error:`` line; the only other lines allowed on stderr are argparse's usage."""
    assert "Traceback" not in out + err, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    others = [line for line in err.splitlines() if line not in errors]
    assert all(line.startswith(("usage:", " ")) for line in others), err
    return errors[0]


def _run(capsys, argv: list[str]) -> tuple[int, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, _one_error_line(out, err)


def _cases() -> list[tuple[str, list[str], str]]:
    """(subcommand, argv, what the error line must contain) for every usage error the parser must catch."""
    cases = []
    for name, sub in SUBCOMMANDS.items():
        required = _required_args(sub)
        cases.append((name, [name, *required, "--no-such-option"], "unrecognized arguments: --no-such-option"))
        if required:
            cases.append((name, [name], "the following arguments are required:"))
        for action in _options(sub):
            option, others = action.option_strings[0], _required_args(sub, but=action)
            if action.choices:
                bad = "9999" if action.type is int else "nonsense"
                cases.append((name, [name, *others, option, bad], f"argument {option}: invalid choice:"))
            elif _checked(action):
                cases.append((name, [name, *others, option, "/absent/nonsense"], f"argument {option}:"))
    cases.append(("run", ["run", "train-all"], "argument DEPLOYMENT: 'train-all' is not FLOW/DEPLOYMENT"))
    return cases


CASES = _cases()


@pytest.mark.parametrize(("name", "argv", "expected"), CASES, ids=[" ".join(argv) for _, argv, _ in CASES])
def test_usage_errors_are_one_line_with_exit_code_2(sandbox, capsys, name, argv, expected):
    code, line = _run(capsys, argv)
    assert code == USAGE
    assert expected in line


def test_the_walk_covers_every_subcommand_and_the_common_choices():
    walked = {name for name, _, _ in CASES}
    assert walked == set(SUBCOMMANDS)
    for sub in SUBCOMMANDS.values():
        options = {a.option_strings[0]: a for a in _options(sub)}
        if "--profile" in options:
            assert list(options["--profile"].choices) == available_profiles() == ["demo", "full"]
    assert {"ingest", "validate-data"} <= {n for n, argv, e in CASES if "--source" in argv}
    assert any(argv[:2] == ["demo", "--until"] for _, argv, _ in CASES)
    assert any(argv[:2] == ["fit-gnn", "--encoder"] for _, argv, _ in CASES)


@pytest.mark.parametrize("name", [n for n, s in SUBCOMMANDS.items() if s.get_default("warehouse_use") == "existing"])
def test_a_missing_warehouse_fails_with_exit_code_1_and_creates_nothing(sandbox, capsys, name):
    warehouse = sandbox / "nonexistent" / "dir" / "x.duckdb"
    code, line = _run(capsys, [name, *_required_args(SUBCOMMANDS[name]), "--warehouse", str(warehouse)])
    assert code == FAILURE
    assert str(warehouse) in line and "does not exist" in line
    assert not (sandbox / "nonexistent").exists()


@pytest.mark.parametrize("name", [n for n, s in SUBCOMMANDS.items() if s.get_default("warehouse_use") is not None])
def test_a_nonexistent_config_file_is_a_usage_error_or_not_offered(sandbox, capsys, name):
    config = sandbox / "nope.yaml"
    code, line = _run(capsys, [name, *_required_args(SUBCOMMANDS[name]), "--config", str(config)])
    assert code == USAGE
    assert f"file not found: {config}" in line or "unrecognized arguments: --config" in line  # demo: profiles only


def test_an_invalid_config_file_names_the_key(sandbox, capsys):
    config = sandbox / "bad.yaml"
    config.write_text("gnn:\n  encoder: transformer\n")
    code, line = _run(capsys, ["features", "--config", str(config)])
    assert code == FAILURE
    assert line.startswith(f"error: {config}: gnn.encoder:") and "'gcn' or 'gat'" in line


def test_an_unexpected_exception_is_one_line_unless_debugging(sandbox, capsys, monkeypatch):
    def boom(args: argparse.Namespace) -> dict:
        raise RuntimeError("boom\nsecond line")

    guarded = cli.build_parser

    def parser_with_a_bug() -> argparse.ArgumentParser:
        parser = guarded()
        _subcommands(parser)["validate-data"].set_defaults(handler=boom)  # the warehouse is not needed there
        return parser

    monkeypatch.setattr(cli, "build_parser", parser_with_a_bug)
    code, line = _run(capsys, ["validate-data"])
    assert code == FAILURE
    assert line == f"error: RuntimeError: boom second line (unexpected; rerun with {DEBUG_ENV}=1 for the traceback)"
    monkeypatch.setenv(DEBUG_ENV, "1")
    with pytest.raises(RuntimeError, match="boom"):
        main(["validate-data"])


def test_known_exception_kinds_are_described_in_one_line():
    from pydantic import BaseModel, ValidationError

    class Order(BaseModel):
        shares: int

    with pytest.raises(ValidationError) as caught:
        Order(shares="many")
    assert describe_error(caught.value) == (
        "invalid Order: shares: Input should be a valid integer, unable to parse string as an integer",
        FAILURE,
    )
    assert describe_error(FileNotFoundError(2, "No such file or directory", "/x/holdings.csv")) == (
        "/x/holdings.csv: not found",
        FAILURE,
    )
    message, code = describe_error(KeyError("symbol"))
    assert message.startswith("KeyError: 'symbol' (unexpected;") and code == FAILURE


def _installed(*argv: str, cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    began = time.perf_counter()
    done = subprocess.run([str(HRL_SARP), *argv], capture_output=True, text=True, timeout=120, cwd=cwd)
    return done, time.perf_counter() - began


def test_installed_features_on_a_missing_warehouse_fails_fast_and_creates_nothing(tmp_path):
    warehouse = tmp_path / "nonexistent" / "dir" / "x.duckdb"
    done, seconds = _installed("features", "--warehouse", str(warehouse), cwd=tmp_path)
    assert done.returncode == FAILURE
    assert str(warehouse) in _one_error_line(done.stdout, done.stderr)
    assert not (tmp_path / "nonexistent").exists()
    assert seconds < 20  # no heavy import before the check (about 0.3 s on a quiet machine)


def test_installed_demo_with_an_unknown_stage_is_a_usage_error(tmp_path):
    done, seconds = _installed("demo", "--until", "nonsense", cwd=tmp_path)
    assert done.returncode == USAGE
    assert "invalid choice: 'nonsense'" in _one_error_line(done.stdout, done.stderr)
    assert list(tmp_path.iterdir()) == [] and seconds < 20  # stopped before Prefect started
