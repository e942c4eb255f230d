"""Phases 3-5 on a tiny hierarchy: they run, keep the best validation policy, and repeat exactly with a seed."""

import numpy as np
import torch

from hrl_sarp.rl.runner import train_phase
from hrl_sarp.threads import single_thread
from tests.rl.conftest import make_hierarchy, small_config


def run_all(seed: int, algo: str = "ppo"):
    cfg = small_config(algo=algo, macro_learning_rate=3e-3, micro_learning_rate=3e-3)
    h = make_hierarchy(cfg, seed=seed)
    out = {}
    with single_thread():
        for phase in (3, 4, 5):
            out[phase] = train_phase(h, phase)
        out["final"] = h.summary()
    params = [p.detach().clone() for p in h.macro_model.policy.parameters()]
    params += [p.detach().clone() for p in h.micro_model.policy.parameters()]
    return h, out, params


def test_phases_run_and_keep_the_best_validation_sharpe():
    h, out, _ = run_all(0)
    assert out[3]["evaluations"] >= 3 and out[4]["evaluations"] >= 3
    assert out[3]["best_val_sharpe"] == max(out[3]["eval_val_sharpe"])
    assert out[5]["best_val_sharpe"] == max(out[5]["round_val_sharpe"][: out[5]["rounds_run"] + 1])
    # Phase 5 ends on its best round's parameters
    np.testing.assert_allclose(out["final"]["val_sharpe"], out[5]["best_val_sharpe"], rtol=1e-6)
    assert out[5]["best_val_sharpe"] >= out[4]["best_val_sharpe"] - 1e-6
    assert h.macro_model.num_timesteps >= 64 and h.micro_model.num_timesteps >= 120


def test_same_seed_same_results():
    _, first, params_a = run_all(5)
    _, second, params_b = run_all(5)
    assert first == second
    assert all(torch.equal(a, b) for a, b in zip(params_a, params_b, strict=True))
    _, other, _ = run_all(6)
    assert other != first


def test_recurrent_ppo_is_selectable():
    cfg = small_config(algo="recurrent_ppo", macro_timesteps=32)
    h = make_hierarchy(cfg)
    with single_thread():
        out = train_phase(h, 3)
    assert type(h.macro_model).__name__ == "RecurrentPPO"
    assert np.isfinite(out["best_val_sharpe"])


def test_her_is_a_switch_and_its_relabelled_goals_are_allocations():
    """rl.micro_her: HER relabels micro goals with the sector mixes the agent executed (real allocations: every
    sampled goal sums to 1, none is all cash); off, Phase 4 trains on a plain dict replay buffer."""
    from stable_baselines3.common.buffers import DictReplayBuffer
    from stable_baselines3.her.her_replay_buffer import HerReplayBuffer

    for her, buffer_class in ((True, HerReplayBuffer), (False, DictReplayBuffer)):
        cfg = small_config(micro_her=her)
        h = make_hierarchy(cfg, seed=2)
        with single_thread():
            train_phase(h, 3)
            train_phase(h, 4)
        buffer = h.micro_model.replay_buffer
        assert type(buffer) is buffer_class
        if her:
            sample = buffer.sample(256)
            goals = sample.observations["desired_goal"].numpy()
            np.testing.assert_allclose(goals.sum(axis=1), 1.0, atol=1e-5)
            assert (goals.max(axis=1) > 0).all()
