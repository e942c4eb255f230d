import numpy as np
import torch

from hrl_sarp.policies.layout import MacroObsLayout, MicroObsLayout


def test_macro_layout_round_trip_numpy_and_torch():
    layout = MacroObsLayout(n_macro=4, n_sectors=3, embedding_dim=2)
    rng = np.random.default_rng(0)
    macro, dd = rng.normal(size=(5, 4)), rng.random(5)
    emb, w = rng.normal(size=(5, 3, 2)), rng.dirichlet(np.ones(3), size=5)
    obs = layout.build(macro, dd, emb, w)
    assert obs.shape == (5, layout.size) == (5, 4 + 1 + 6 + 3)
    assert obs.dtype == np.float32
    state, emb_back, w_back = layout.split(obs)
    np.testing.assert_allclose(state[:, :4], macro, rtol=1e-6)
    np.testing.assert_allclose(state[:, 4], dd, rtol=1e-6)
    np.testing.assert_allclose(emb_back, emb, rtol=1e-6)
    np.testing.assert_allclose(w_back, w, rtol=1e-6)
    t_state, t_emb, t_w = layout.split(torch.as_tensor(obs))
    assert t_emb.shape == (5, 3, 2)
    np.testing.assert_allclose(t_w.numpy(), w, rtol=1e-6)
    single = layout.build(macro[0], dd[0], emb[0], w[0])  # no batch dimension
    np.testing.assert_array_equal(single, obs[0])
    assert layout.action_dim == 6


def test_micro_layout_round_trip():
    layout = MicroObsLayout(n_stocks=4, n_features=3, n_macro=2, n_sectors=2)
    rng = np.random.default_rng(1)
    feats, w = rng.normal(size=(6, 4, 3)), rng.dirichlet(np.ones(4), size=6)
    macro, dd = rng.normal(size=(6, 2)), rng.random(6)
    regime = np.eye(3)[rng.integers(3, size=6)]
    obs = layout.build(feats, w, macro, dd, regime)
    assert obs.shape == (6, layout.size) == (6, 4 * 3 + 4 + 3 + 3)
    f, w_b, state, r_b = layout.split(obs)
    np.testing.assert_allclose(f, feats, rtol=1e-6)
    np.testing.assert_allclose(w_b, w, rtol=1e-6)
    np.testing.assert_allclose(state, np.column_stack([macro, dd]), rtol=1e-6)
    np.testing.assert_array_equal(r_b, regime)
