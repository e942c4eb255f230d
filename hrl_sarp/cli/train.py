"""``hrl-sarp train --phase N``: one training phase, run directly (no Prefect server needed).

Phase 1: macro supervised pretraining; Phase 2: micro supervised pretraining (docs/pretraining.md).
Phases 3-5 (RL) plug in through :data:`PHASES`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from hrl_sarp.cli import add_common, config_from_args


def _pretrain(phase: int) -> Callable[[Any], dict[str, Any]]:
    def run(cfg: Any) -> dict[str, Any]:
        from hrl_sarp.training.runner import run_pretrain

        return run_pretrain(cfg, phase)

    return run


# phase number -> function(cfg) -> summary dict
PHASES: dict[int, Callable[[Any], dict[str, Any]]] = {1: _pretrain(1), 2: _pretrain(2)}


def _rl(phase: int) -> Callable[[Any], dict[str, Any]]:
    def run(cfg: Any) -> dict[str, Any]:
        from hrl_sarp.rl.runner import public, run_phase

        return public(run_phase(cfg, phase))

    return run


# Phases 3-5: macro PPO, micro TD3 + HER, alternating fine-tuning (hrl_sarp.rl, docs/rl.md)
PHASES.update({3: _rl(3), 4: _rl(4), 5: _rl(5)})


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="run one training phase (1 macro pretraining, 2 micro pretraining, 3-5 RL)",
        description="Train one phase on the latest feature build and record it in MLflow and the warehouse.",
    )
    parser.add_argument("--phase", type=int, required=True, choices=sorted(PHASES), help="phase to run")
    parser.add_argument("--seed", type=int, help="override the config seed")
    add_common(parser)
    parser.set_defaults(handler=run_train)


def run_train(args: argparse.Namespace) -> dict[str, Any]:
    cfg = config_from_args(args, seed=args.seed)
    return {"phase": args.phase, **PHASES[args.phase](cfg)}
