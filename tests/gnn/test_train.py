"""Walk-forward plan and training: anchors inside the training split, determinism, no lookahead."""

from __future__ import annotations

import numpy as np
import pytest

from hrl_sarp.errors import InputError
from hrl_sarp.gnn.fit import fit_sector_embeddings
from hrl_sarp.gnn.train import plan_walk_forward


def _fit(market, cfg, returns=None, bench=None, macro=None, seed=None):
    return fit_sector_embeddings(
        market.dates,
        market.sectors,
        market.sector_returns if returns is None else returns,
        market.benchmark_returns if bench is None else bench,
        market.week_end_index,
        cfg.gnn,
        cfg.splits.train_fraction,
        cfg.splits.val_fraction,
        cfg.seed if seed is None else seed,
        macro=market.macro if macro is None else macro,
        macro_names=market.macro_names,
    )


@pytest.fixture(scope="module")
def base_fit(market):
    from hrl_sarp.config import load_config
    from tests.gnn.conftest import FAST_GNN

    return _fit(market, load_config("demo", overrides=FAST_GNN))


def test_plan_refits_inside_the_training_split_only():
    n_weeks = 200
    ends = np.arange(n_weeks) * 5 + 4
    valid = np.arange(n_weeks) >= 12
    plan = plan_walk_forward(valid, ends, n_dates=1000, train_fraction=0.6, min_train_weeks=50, refit_every_weeks=20)
    assert plan.anchors[0] == 62  # 50 valid weeks (12..61) precede it
    assert (np.diff(plan.anchors) == 20).all()
    assert ends[plan.anchors[-1]] <= 599 and plan.anchors[-1] + 20 > plan.train_end_week
    assert (plan.segment[:62] == -1).all() and (plan.segment[62:82] == 0).all()
    assert (plan.segment[plan.train_end_week + 1 :] == len(plan.anchors) - 1).all()  # frozen after the split


def test_plan_says_what_to_change_when_history_is_short():
    ends = np.arange(40) * 5 + 4
    with pytest.raises(InputError, match="gnn.min_train_weeks"):
        plan_walk_forward(np.ones(40, bool), ends, 200, 0.6, 104, 52)


def test_embeddings_shape_and_first_embedded_week(market, fast_config, base_fit):
    fit = base_fit
    n_weeks, n_sectors = len(market.week_end_index), len(market.sectors)
    assert fit.embeddings.shape == (n_weeks, n_sectors, fast_config.gnn.embedding_dim)
    first = fit.result.plan.anchors[0]
    assert not fit.embedded[:first].any() and fit.embedded[first:].all()
    assert np.isnan(fit.embeddings[:first]).all() and np.isfinite(fit.embeddings[first:]).all()
    assert len(fit.result.models) == len(fit.result.plan.anchors)
    assert all(len(m.loss_rank) == fast_config.gnn.epochs for m in fit.result.models)
    assert 0.0 <= fit.metrics["val_link_auc"] <= 1.0


def test_same_seed_same_embeddings_other_seed_differs(market, fast_config, base_fit):
    a, b = base_fit, _fit(market, fast_config)
    np.testing.assert_array_equal(a.embeddings, b.embeddings)
    c = _fit(market, fast_config, seed=fast_config.seed + 1)
    assert not np.allclose(a.embeddings[a.embedded], c.embeddings[c.embedded])


def test_no_embedding_depends_on_data_after_its_week(market, fast_config, base_fit):
    """Every return (and macro value) after week t replaced by garbage: embeddings at weeks <= t are unchanged."""
    base = base_fit
    plan = base.result.plan
    inside_training = int(plan.anchors[0] + 3)  # between refits, inside the training split
    at_refit = int(plan.anchors[1])
    after_split = int(plan.train_end_week + 10)
    rng = np.random.default_rng(1)
    for t in (inside_training, at_refit, after_split):
        cut = market.week_end_index[t] + 1
        returns, bench, macro = market.sector_returns.copy(), market.benchmark_returns.copy(), market.macro.copy()
        returns[cut:] = rng.normal(0, 0.2, returns[cut:].shape)
        bench[cut:] = rng.normal(0, 0.2, bench[cut:].shape)
        macro[cut:] = rng.normal(0, 50, macro[cut:].shape)
        garbled = _fit(market, fast_config, returns=returns, bench=bench, macro=macro)
        np.testing.assert_array_equal(garbled.embeddings[: t + 1], base.embeddings[: t + 1], err_msg=f"t={t}")
        assert not np.allclose(garbled.embeddings[t + 1 :][garbled.embedded[t + 1 :]],
                               base.embeddings[t + 1 :][base.embedded[t + 1 :]])  # fmt: skip


def test_gat_encoder_embeds_every_week_after_the_first_refit(market, fast_config, base_fit):
    cfg = fast_config.model_copy(update={"gnn": fast_config.gnn.model_copy(update={"encoder": "gat"})})
    fit = _fit(market, cfg)
    assert np.isfinite(fit.embeddings[fit.embedded]).all() and fit.embedded.sum() > 50
    gcn = base_fit
    assert not np.allclose(fit.embeddings[fit.embedded], gcn.embeddings[gcn.embedded])
