"""Rank IC, the ridge probe and link AUC."""

from __future__ import annotations

import numpy as np
import pytest

from hrl_sarp.gnn.evaluate import binary_auc, link_auc, ridge_probe, weekly_rank_ic


def test_weekly_rank_ic_is_spearman_per_week():
    realised = np.array([[0.01, 0.02, 0.03, 0.04], [0.4, 0.3, 0.2, 0.1], [1.0, 1.0, 1.0, 1.0]])
    pred = np.array([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]])
    ic = weekly_rank_ic(pred, realised)
    assert ic[0] == pytest.approx(1.0) and ic[1] == pytest.approx(-1.0) and np.isnan(ic[2])


def test_binary_auc_counts_ordered_pairs():
    assert binary_auc(np.array([0.9, 0.8, 0.3, 0.1]), np.array([1, 1, 0, 0])) == pytest.approx(1.0)
    assert binary_auc(np.array([0.9, 0.2, 0.3, 0.1]), np.array([1, 1, 0, 0])) == pytest.approx(0.75)
    assert np.isnan(binary_auc(np.array([0.1, 0.2]), np.array([1, 1])))
    # weeks with one class only are skipped
    assert link_auc(np.array([[0.9, 0.1], [0.5, 0.4]]), np.array([[1, 0], [1, 1]])) == pytest.approx(1.0)


def test_ridge_probe_finds_a_planted_signal_and_not_noise():
    rng = np.random.default_rng(0)
    n_weeks, n_sectors = 300, 8
    signal = rng.normal(size=(n_weeks, n_sectors))
    labels = 0.5 * signal + rng.normal(size=(n_weeks, n_sectors))
    features = np.stack([signal, rng.normal(size=(n_weeks, n_sectors))], axis=-1)
    fit = np.arange(n_weeks) < 200
    good = ridge_probe(features, labels, fit, ~fit)
    noise = ridge_probe(rng.normal(size=(n_weeks, n_sectors, 2)), labels, fit, ~fit)
    assert good["rank_ic"] > 0.3 and good["rank_ic_t"] > 5 and good["weeks"] == 100
    assert abs(noise["rank_ic"]) < 0.1
