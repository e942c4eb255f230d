"""The flows' parameters as Prefect's run form shows them: closed sets as dropdowns (an ``enum`` in the schema) and a
description for every parameter (from the docstring's ``Args:``), read from the source as deployments read it."""

from __future__ import annotations

import ast
from typing import get_args

import pytest
from prefect.utilities.callables import parameter_schema_from_entrypoint

from flows.train_all import STAGES
from hrl_sarp.cli.train import PHASES
from hrl_sarp.config import REPO_ROOT, available_profiles
from hrl_sarp.domain import DataSource, GraphEncoder, PipelineStage, Profile, TrainingPhase
from tasks.rl import PHASE_TASKS


def _flow_entrypoints() -> list[str]:
    """``flows/<module>.py:<function>`` for every ``@flow``-decorated function under flows/."""
    found = []
    for file in sorted((REPO_ROOT / "flows").glob("*.py")):
        for node in ast.parse(file.read_text()).body:
            if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Call) and getattr(d.func, "id", None) == "flow" for d in node.decorator_list
            ):
                found.append(f"{file.relative_to(REPO_ROOT)}:{node.name}")
    return found


ENTRYPOINTS = _flow_entrypoints()
# parameter name -> the values its dropdown offers
CLOSED_SETS = {
    "profile": list(get_args(Profile)),
    "source": list(get_args(DataSource)),
    "encoder": list(get_args(GraphEncoder)),
    "until": list(get_args(PipelineStage)),
    "phases": list(get_args(TrainingPhase)),
}


def _offered(prop: dict) -> list | None:
    """The enum a property offers, through ``X | None`` (anyOf) and ``list[X]`` (items)."""
    for option in prop.get("anyOf", [prop]):
        option = option.get("items", option)
        if "enum" in option:
            return option["enum"]
    return None


def test_the_closed_sets_match_what_they_name():
    assert list(get_args(Profile)) == available_profiles()  # config/<profile>.yaml
    assert list(get_args(PipelineStage)) == [stage.name for stage in STAGES]
    assert sorted(PHASES) == list(get_args(TrainingPhase)) == sorted([1, 2, *PHASE_TASKS])


def test_every_flow_is_found():
    assert {"flows/train_all.py:train_all", "flows/ingest.py:ingest_flow", "flows/rebalance.py:rebalance_flow"} <= set(
        ENTRYPOINTS
    )
    assert len(ENTRYPOINTS) >= 9


@pytest.mark.parametrize("entrypoint", ENTRYPOINTS)
def test_flow_parameters_have_descriptions_and_dropdowns(entrypoint, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)  # entrypoints are repository-relative, as deployments give them
    properties = parameter_schema_from_entrypoint(entrypoint).model_dump_for_openapi()["properties"]
    missing = [name for name, prop in properties.items() if not prop.get("description")]
    assert not missing, f"{entrypoint}: no description for {missing} (add them under Args: in the docstring)"
    for name, values in CLOSED_SETS.items():
        if name in properties:
            assert _offered(properties[name]) == values, f"{entrypoint}: {name}"
