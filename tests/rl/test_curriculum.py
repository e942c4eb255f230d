import dataclasses

import numpy as np
import pytest

from hrl_sarp.config import CurriculumConfig, CurriculumStage, StressWindow
from hrl_sarp.envs.micro_env import MicroEnv
from hrl_sarp.rl.curriculum import Curriculum, CurriculumStarts, build_curriculum, episode_pools
from tests.rl.conftest import rl_arrays


def labelled_arrays():
    """300 rows: Bull calm in rows 0-99, Bear with a crash in 100-179, Sideways after."""
    arrays = rl_arrays()
    regimes = np.full(arrays.n_dates, 2, dtype=np.int64)
    regimes[:100] = 0
    regimes[100:180] = 1
    bench = np.full(arrays.n_dates, 0.0005)
    bench[100:180] = np.where(np.arange(80) % 2 == 0, -0.02, 0.01)
    return dataclasses.replace(arrays, regime_labels=regimes, benchmark_returns=bench)


def test_pools_follow_regimes_drawdowns_and_dated_windows():
    arrays = labelled_arrays()
    starts = np.arange(0, 280, 10)
    cfg = CurriculumConfig(stress_windows=[])
    pools = episode_pools(arrays, starts, 20, cfg)
    assert set(pools["calm_bull"]) == set(range(0, 80, 10))  # all-Bull, low-vol windows
    assert set(pools["stress"]) == set(range(90, 180, 10))  # Bear share >= 0.4 or a >10% drawdown
    np.testing.assert_array_equal(pools["mixed"], starts)
    dated = CurriculumConfig(
        stress_windows=[StressWindow(name="w", start=arrays.dates[250].item(), end=arrays.dates[255].item())]
    )
    assert {240, 250} <= set(episode_pools(arrays, starts, 20, dated)["stress"])


def test_sampling_respects_the_mix():
    pools = {"calm_bull": np.array([1, 2]), "mixed": np.arange(100, 200), "stress": np.array([7])}
    cfg = CurriculumConfig(stages=[CurriculumStage(name="a", mix={"calm_bull": 0.6, "mixed": 0.1, "stress": 0.3})])
    cur = Curriculum(cfg, pools, seed=3)
    draws = [cur.sample() for _ in range(4000)]
    share = {p: np.mean([d[1] == p for d in draws]) for p in ("calm_bull", "mixed", "stress")}
    assert share == pytest.approx({"calm_bull": 0.6, "mixed": 0.1, "stress": 0.3}, abs=0.03)
    for start, pool in draws:
        assert start in pools[pool]
    # an empty pool hands its share to mixed
    empty = Curriculum(cfg, {**pools, "stress": np.array([], dtype=np.int64)}, seed=3)
    assert empty.mix() == pytest.approx({"calm_bull": 0.6, "mixed": 0.4, "stress": 0.0})


def test_promotion_on_threshold_and_after_max_evals():
    stages = [
        CurriculumStage(name="calm", mix={"calm_bull": 1.0}, promote_at_excess_sharpe=0.1),
        CurriculumStage(name="mixed", mix={"mixed": 1.0}, promote_at_excess_sharpe=0.5),
        CurriculumStage(name="stress", mix={"stress": 1.0}),
    ]
    pools = {"calm_bull": np.array([1]), "mixed": np.array([2]), "stress": np.array([3])}
    cur = Curriculum(CurriculumConfig(stages=stages, max_stage_evals=0), pools)
    assert not cur.update(0.05) and cur.stage_name == "calm"
    assert cur.sample() == (1, "calm_bull")
    assert cur.update(0.1) and cur.stage_name == "mixed"
    assert cur.sample() == (2, "mixed")
    assert not cur.update(0.4)
    assert cur.update(0.6) and cur.stage_name == "stress"
    assert not cur.update(9.0) and cur.stage_name == "stress"  # the last stage stays
    assert cur.metrics()["curriculum/stage"] == 2.0
    timed = Curriculum(CurriculumConfig(stages=stages, max_stage_evals=2), pools)
    assert not timed.update(-1.0)
    assert timed.update(-1.0) and timed.stage_name == "mixed"


def test_wrapper_starts_episodes_from_the_curriculum(cfg):
    arrays = rl_arrays()
    cur = build_curriculum(arrays, cfg.rl.curriculum, (0, 200), cfg.env.micro_episode_days, seed=0)
    env = CurriculumStarts(MicroEnv(arrays, cfg, date_range=(0, 200)), cur)
    starts = [env.reset()[1]["t"] for _ in range(30)]
    assert all(s in cur.pools["mixed"] for s in starts)
    assert sum(env.pool_counts.values()) == 30
    assert env.reset(options={"start": 17})[1]["t"] == 17  # an explicit start wins
    disabled = cfg.rl.curriculum.model_copy(update={"enabled": False})
    assert build_curriculum(arrays, disabled, (0, 200), 15) is None
