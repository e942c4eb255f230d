"""Weekly graphs: correlations, edges, node features, labels, and that week t uses no data after t."""

from __future__ import annotations

import numpy as np
import pytest

from hrl_sarp.gnn.graphs import (
    BASE_FEATURES,
    build_weekly_graphs,
    macro_conditioned_features,
    macro_state,
    next_week_returns,
    threshold_adjacency,
    trailing_returns,
    window_correlations,
)


def test_correlations_match_numpy_and_edges_are_thresholded(market):
    graphs = build_weekly_graphs(market.sector_returns, market.benchmark_returns, market.week_end_index, 60, 0.3)
    w = int(np.flatnonzero(graphs.valid)[5])
    end = market.week_end_index[w]
    expected = np.corrcoef(market.sector_returns[end - 59 : end + 1].T)
    np.testing.assert_allclose(graphs.corr[w], expected, atol=1e-12)
    adj = graphs.adjacency[w]
    off = ~np.eye(len(adj), dtype=bool)
    assert (adj >= 0).all() and (np.diag(adj) == 0).all()
    np.testing.assert_allclose(adj[off], np.where(np.abs(expected[off]) >= 0.3, np.abs(expected[off]), 0.0))
    assert np.allclose(adj, adj.T)


def test_negative_correlations_become_positive_weights():
    corr = np.array([[[1.0, -0.8, 0.1], [-0.8, 1.0, 0.35], [0.1, 0.35, 1.0]]])
    adj = threshold_adjacency(corr, 0.3)
    assert adj[0, 0, 1] == pytest.approx(0.8) and adj[0, 1, 2] == pytest.approx(0.35) and adj[0, 0, 2] == 0.0


def test_constant_series_has_zero_correlation():
    window = np.zeros((1, 10, 2))
    window[0, :, 0] = np.linspace(-1, 1, 10)
    corr = window_correlations(window)
    assert corr[0, 0, 1] == 0.0 and corr[0, 1, 1] == 1.0


def test_node_features_are_documented_statistics(market):
    graphs = build_weekly_graphs(market.sector_returns, market.benchmark_returns, market.week_end_index, 60, 0.3)
    assert graphs.feature_names == BASE_FEATURES
    assert graphs.node_features.shape == (len(market.week_end_index), market.sector_returns.shape[1], 12)
    w = int(np.flatnonzero(graphs.valid)[3])
    end = market.week_end_index[w]
    win = market.sector_returns[end - 59 : end + 1]
    feats = dict(zip(BASE_FEATURES, graphs.node_features[w].T, strict=True))
    np.testing.assert_allclose(feats["ret_5d"], np.prod(1 + win[-5:], axis=0) - 1, rtol=1e-10)
    np.testing.assert_allclose(feats["vol_20d"], win[-20:].std(axis=0) * np.sqrt(252), rtol=1e-10)
    bench = market.benchmark_returns[end - 59 : end + 1]
    beta = [np.polyfit(bench, win[:, s], 1)[0] for s in range(win.shape[1])]
    np.testing.assert_allclose(feats["beta_bench"], beta, rtol=1e-8)
    np.testing.assert_allclose(feats["xs_ret_20d"].mean(), 0.0, atol=1e-12)
    # weeks without a full window are invalid and carry no features or edges
    short = market.week_end_index < 59
    assert not graphs.valid[short].any() and (graphs.node_features[short] == 0).all()


def test_next_week_returns_compound_the_following_week(market):
    labels = next_week_returns(market.sector_returns, market.week_end_index)
    a, b = market.week_end_index[10], market.week_end_index[11]
    np.testing.assert_allclose(labels[10], np.prod(1 + market.sector_returns[a + 1 : b + 1], axis=0) - 1, rtol=1e-10)
    assert np.isnan(labels[-1]).all()
    trailing = trailing_returns(market.sector_returns, market.week_end_index, (5,))
    np.testing.assert_allclose(
        trailing[10, :, 0], np.prod(1 + market.sector_returns[a - 4 : a + 1], axis=0) - 1, rtol=1e-10
    )


def test_inputs_at_week_t_ignore_later_data(market):
    t = 60
    cut = market.week_end_index[t] + 1
    rng = np.random.default_rng(0)
    returns, bench, macro = market.sector_returns.copy(), market.benchmark_returns.copy(), market.macro.copy()
    returns[cut:] = rng.normal(0, 0.3, returns[cut:].shape)
    bench[cut:] = np.nan
    macro[cut:] = 1e6
    a = build_weekly_graphs(market.sector_returns, market.benchmark_returns, market.week_end_index)
    b = build_weekly_graphs(returns, bench, market.week_end_index)
    np.testing.assert_array_equal(a.node_features[: t + 1], b.node_features[: t + 1])
    np.testing.assert_array_equal(a.adjacency[: t + 1], b.adjacency[: t + 1])
    sa, _ = macro_state(market.macro, market.week_end_index, market.macro_names, (20, 59))
    sb, _ = macro_state(macro, market.week_end_index, market.macro_names, (20, 59))
    np.testing.assert_array_equal(sa[: t + 1], sb[: t + 1])


def test_macro_terms_sit_in_the_sectors_own_block(market):
    state, names = macro_state(market.macro, market.week_end_index, market.macro_names, (20,))
    assert names == (*market.macro_names, *(f"{m}_chg_20d" for m in market.macro_names))
    n_sectors = market.sector_returns.shape[1]
    terms, term_names = macro_conditioned_features(state, n_sectors, names)
    k = state.shape[1]
    assert terms.shape == (len(market.week_end_index), n_sectors, n_sectors * k) and len(term_names) == n_sectors * k
    np.testing.assert_array_equal(terms[30, 2, 2 * k : 3 * k], state[30])
    assert (terms[30, 2, : 2 * k] == 0).all() and (terms[30, 2, 3 * k :] == 0).all()
    end = market.week_end_index[30]
    np.testing.assert_allclose(state[30, len(market.macro_names)], market.macro[end, 0] - market.macro[end - 20, 0])
