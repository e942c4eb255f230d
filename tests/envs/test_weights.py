import numpy as np
import pytest
from scipy.optimize import minimize

from hrl_sarp.envs.weights import (
    logits_to_weights,
    masked_softmax,
    project_capped_simplex,
    sector_allocation,
    tilt_weights,
)


def test_masked_softmax_zero_on_mask_and_sums_to_one():
    p = masked_softmax(np.array([0.0, np.log(3.0), 5.0]), np.array([True, True, False]))
    np.testing.assert_allclose(p, [0.25, 0.75, 0.0], atol=1e-15)
    assert masked_softmax(np.ones(3), np.zeros(3, bool)).sum() == 0.0


def test_no_binding_cap_scales_to_total():
    p = np.array([0.05, 0.03, 0.02])
    np.testing.assert_allclose(project_capped_simplex(p, 0.98, 1.0), 0.98 * p / p.sum(), atol=1e-15)


def test_stock_cap_binds_and_excess_is_renormalised():
    # 0.5 capped at 0.3; the remaining 0.7 spread over p = (0.2, 0.2, 0.1) in proportion: scale 0.7 / 0.5 = 1.4
    w = project_capped_simplex(np.array([0.5, 0.2, 0.2, 0.1]), 1.0, 0.3)
    np.testing.assert_allclose(w, [0.3, 0.28, 0.28, 0.14], atol=1e-15)


def test_cascading_stock_caps():
    # first cap frees mass that pushes the second name over the cap too
    w = project_capped_simplex(np.array([0.6, 0.25, 0.1, 0.05]), 1.0, 0.35)
    np.testing.assert_allclose(w, [0.35, 0.35, 0.2, 0.1], atol=1e-15)


def test_sector_cap_binds():
    w = project_capped_simplex(
        np.array([0.4, 0.3, 0.2, 0.1]), 1.0, 1.0, sector_of=np.array([0, 0, 1, 1]), sector_cap=0.5, n_sectors=2
    )
    np.testing.assert_allclose(w, [0.5 * 4 / 7, 0.5 * 3 / 7, 0.5 * 2 / 3, 0.5 * 1 / 3], atol=1e-15)


def test_infeasible_caps_fall_back_to_cash():
    w = project_capped_simplex(np.array([0.5, 0.3, 0.2]), 0.98, 0.1)
    np.testing.assert_allclose(w, [0.1, 0.1, 0.1])
    # sector capacity short: two sectors capped at 0.35 each can hold only 0.7
    w = project_capped_simplex(np.full(4, 0.25), 0.98, 1.0, np.array([0, 0, 1, 1]), 0.35, 2)
    np.testing.assert_allclose(w, [0.175] * 4, atol=1e-15)


def _kl_projection_reference(p, total, cap, sector_of, sector_cap):
    n_sec = sector_of.max() + 1
    cons = [{"type": "eq", "fun": lambda w: w.sum() - total}]
    for s in range(n_sec):
        cons.append({"type": "ineq", "fun": lambda w, s=s: sector_cap - w[sector_of == s].sum()})
    res = minimize(
        lambda w: np.sum(w * np.log(np.maximum(w, 1e-300) / p)),
        x0=np.full(len(p), total / len(p)),
        bounds=[(1e-12, cap)] * len(p),
        constraints=cons,
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )
    return res.x


@pytest.mark.parametrize(("seed", "sector_cap"), [(s, c) for s in range(4) for c in (0.3, 0.26)])
def test_matches_numerical_kl_projection(seed, sector_cap):
    rng = np.random.default_rng(seed)
    n, n_sec = 12, 4
    p = masked_softmax(rng.normal(0, 1.5, n), np.ones(n, bool))
    sector_of = rng.permutation(np.arange(n) % n_sec)
    w = project_capped_simplex(p, 0.98, 0.15, sector_of, sector_cap, n_sec)
    ref = _kl_projection_reference(p, 0.98, 0.15, sector_of, sector_cap)
    np.testing.assert_allclose(w, ref, atol=2e-5)
    assert w.sum() == pytest.approx(0.98, abs=1e-12)
    assert w.max() <= 0.15 + 1e-12
    assert np.bincount(sector_of, weights=w).max() <= sector_cap + 1e-12


def test_feasible_point_is_fixed_and_mask_respected():
    rng = np.random.default_rng(3)
    sector_of = np.arange(30) % 5
    mask = np.ones(30, bool)
    mask[[2, 7, 11]] = False
    w = logits_to_weights(rng.uniform(-1, 1, 30), mask, 0.98, 0.1, sector_of, 0.35, 5, logit_scale=5.0)
    assert (w[~mask] == 0).all()
    again = project_capped_simplex(w, 0.98, 0.1, sector_of, 0.35, 5)
    np.testing.assert_allclose(again, w, atol=1e-14)


def test_tilt_weights_bet_the_active_share_along_the_logits():
    logits = np.array([0.02, -0.01, 0.0, 0.03, 5.0, -0.04])
    mask = np.array([True, True, True, True, False, True])
    w = tilt_weights(logits, mask, 0.2)
    assert w[4] == 0.0 and w.sum() == pytest.approx(1.0, abs=1e-12)
    assert 0.5 * np.abs(w[mask] - 0.2).sum() == pytest.approx(0.2, abs=1e-12)  # tiny logits, full conviction
    z = logits[mask] - logits[mask].mean()
    assert np.corrcoef(w[mask], z)[0, 1] == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(tilt_weights(np.full(6, 0.3), mask, 0.2)[mask], 0.2)  # no view: equal weights
    np.testing.assert_allclose(tilt_weights(logits, mask, 0.0)[mask], 0.2)
    assert not tilt_weights(logits, np.zeros(6, bool), 0.2).any()
    # a tilt that would short a sector cuts it to 0 and renormalises
    big = tilt_weights(np.array([1.0, 0.0, 0.0, 0.0]), np.ones(4, bool), 0.9)
    assert big.min() == 0.0 and big.sum() == pytest.approx(1.0)


def test_sector_allocation_moves_part_of_the_way_and_respects_the_cap():
    logits = np.array([1.0, 0.0, -1.0, 0.5])
    mask = np.ones(4, bool)
    target = sector_allocation(logits, mask, None, "tilt", 5.0, 0.2, 1.0, 1.0)
    previous = np.array([0.4, 0.2, 0.2, 0.2])
    moved = sector_allocation(logits, mask, previous, "tilt", 5.0, 0.2, 0.5, 1.0)
    np.testing.assert_allclose(moved, previous + 0.5 * (target - previous), atol=1e-12)
    first = sector_allocation(logits, mask, None, "tilt", 5.0, 0.2, 0.5, 1.0)  # no previous: from equal weights
    np.testing.assert_allclose(first, 0.25 + 0.5 * (target - 0.25), atol=1e-12)
    capped = sector_allocation(logits, mask, None, "tilt", 5.0, 0.2, 1.0, 0.3)
    assert capped.max() <= 0.3 + 1e-12 and capped.sum() == pytest.approx(1.0)
    soft = sector_allocation(logits, mask, None, "softmax", 5.0, 0.2, 1.0, 1.0)
    np.testing.assert_allclose(soft, np.exp(5 * logits) / np.exp(5 * logits).sum(), atol=1e-12)
