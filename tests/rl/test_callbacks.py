"""ValidationSharpeCallback's progress lines and SB3's progress bar (only on a terminal) in a phase run."""

from __future__ import annotations

import logging

from stable_baselines3 import PPO, TD3
from stable_baselines3.common.logger import Logger

from hrl_sarp.envs.goals import WithinSectorRule
from hrl_sarp.envs.macro_env import MacroEnv
from hrl_sarp.rl import joint
from hrl_sarp.rl.callbacks import ValidationSharpeCallback
from hrl_sarp.rl.runner import train_phase
from hrl_sarp.threads import single_thread
from tests.rl.conftest import make_hierarchy


def _lines(caplog, logger: str = "hrl_sarp.rl.callbacks") -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


def test_each_evaluation_is_a_line_with_counts_and_the_best(arrays, cfg, caplog):
    caplog.set_level(logging.INFO, logger="hrl_sarp")
    h = make_hierarchy(cfg)
    env = MacroEnv(arrays, cfg, h.inputs.macro_inputs, WithinSectorRule(h.market), h.inputs.train_range, h.market)
    model = PPO("MlpPolicy", env, n_steps=16, batch_size=16, seed=0, device="cpu")
    model.set_logger(Logger(None, []))
    values = iter([0.5, 1.5, 0.7, 1.2, 2.0])
    callback = ValidationSharpeCallback(lambda m: next(values), eval_every=16, label="phase 3", timesteps=64)
    callback.init_callback(model)
    callback.run_eval()  # the start point, as the runner does
    model.learn(64, callback=callback, reset_num_timesteps=False)
    assert _lines(caplog) == [
        "phase 3 eval 0/4 (0/64 steps): val Sharpe 0.500 (best 0.500)",
        "phase 3 eval 1/4 (16/64 steps): val Sharpe 1.500 (best 1.500)",
        "phase 3 eval 2/4 (32/64 steps): val Sharpe 0.700 (best 1.500)",
        "phase 3 eval 3/4 (48/64 steps): val Sharpe 1.200 (best 1.500)",
        "phase 3 eval 4/4 (64/64 steps): val Sharpe 2.000 (best 2.000)",
    ]


def test_phases_log_every_evaluation_and_round_and_draw_no_bar_off_a_terminal(cfg, caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="hrl_sarp")
    monkeypatch.setattr(joint, "both_streams_are_terminals", lambda: False)
    bars: list[bool] = []
    for algo in (PPO, TD3):
        original = algo.learn

        def spy(model, *args, _original=original, progress_bar=False, **kwargs):
            bars.append(progress_bar)
            return _original(model, *args, progress_bar=progress_bar, **kwargs)

        monkeypatch.setattr(algo, "learn", spy)
    h = make_hierarchy(cfg)
    with single_thread():
        out = {phase: train_phase(h, phase) for phase in (3, 4, 5)}
    # small_config: 64 macro steps evaluated every 32, 120 micro steps every 60, 2 Phase 5 rounds
    lines = _lines(caplog)
    assert [line.split(":")[0] for line in lines] == [
        "phase 3 eval 0/2 (0/64 steps)",
        "phase 3 eval 1/2 (32/64 steps)",
        "phase 3 eval 2/2 (64/64 steps)",
        "phase 4 eval 0/2 (0/120 steps)",
        "phase 4 eval 1/2 (60/120 steps)",
        "phase 4 eval 2/2 (120/120 steps)",
    ]
    sharpe = [float(line.split("val Sharpe ")[1].split()[0]) for line in lines]
    assert sharpe == [round(v, 3) for v in out[3]["eval_val_sharpe"] + out[4]["eval_val_sharpe"]]
    rounds = [line for line in _lines(caplog, "hrl_sarp.rl.runner") if line.startswith("phase 5 round")]
    assert len(rounds) == out[5]["rounds_run"] + 1
    assert (
        rounds[0]
        == f"phase 5 round 0/2: val Sharpe {out[5]['round_val_sharpe'][0]:.3f} (best {out[5]['round_val_sharpe'][0]:.3f})"
    )
    assert len(bars) == 2 + 2 * out[5]["rounds_run"] and not any(bars)
