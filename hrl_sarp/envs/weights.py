"""From action logits to portfolio weights: masked softmax, then projection onto the capped simplex.

The capped simplex is ``{w : 0 <= w_i <= u_i, sum_{i in s} w_i <= C_s for every sector s, sum_i w_i = total}``
with per-stock caps ``u`` (the stock cap), per-sector caps ``C`` (the sector cap) and ``total = 1 - min_cash``.

The projection is the exact information (KL) projection of the softmax distribution ``p`` onto that set:
``argmin_w sum_i w_i log(w_i / p_i)``. Its solution has the closed form ``w_i = min(u_i, k_s(i) * p_i)``: a stock
either sits at its cap or keeps its softmax weight multiplied by one scale per sector, which is exactly "cap, then
renormalise the excess proportionally over the uncapped names" carried to its fixed point. Stocks with ``p_i = 0``
(masked: padding, untradable) stay at 0. The scales come from sorting breakpoints, not from iteration, so the
result is exact up to floating point.

Infeasible caps (``sum_i u_i`` or the sector capacities below ``total``): every name is filled to its effective cap
and the remainder stays in cash. This is the documented fallback; it never raises.
"""

from __future__ import annotations

import numpy as np


def masked_softmax(logits: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Softmax over the entries where ``mask`` is True; masked entries get exactly 0.

    logits: (N,) float; mask: (N,) bool. Returns (N,) float64 summing to 1, or all zeros when nothing is unmasked.
    """
    z = np.where(mask, logits, -np.inf)
    top = z.max(initial=-np.inf)
    if not np.isfinite(top):
        return np.zeros(len(logits))
    e = np.exp(z - top)
    return e / e.sum()


def _scale_for_total(p: np.ndarray, cap: np.ndarray, total: float) -> float:
    """Scale k with ``sum_i min(cap_i, k p_i) = total`` (1-D); ``inf`` when even all caps fall short.

    p, cap: (n,) non-negative; names with p = 0 must have cap 0 (they sort first as already capped at 0).
    """
    ratio = cap / (p + 1e-300)
    order = ratio.argsort(kind="stable")
    r = ratio[order]
    cum_cap = cap[order].cumsum()
    cum_p = p[order].cumsum()
    p_total = cum_p[-1]
    # value of the piecewise-linear sum at each breakpoint r_j: names up to j capped, the rest at r_j * p
    at_knot = cum_cap + r * (p_total - cum_p)
    j = int(at_knot.searchsorted(total, side="left"))
    if j >= len(r):
        return np.inf
    capped_sum = cum_cap[j - 1] if j > 0 else 0.0
    free_p = p_total - (cum_p[j - 1] if j > 0 else 0.0)
    return (total - capped_sum) / free_p


def _fill(p: np.ndarray, cap: np.ndarray, total: float) -> np.ndarray:
    """``min(cap, k p)`` with the k that reaches ``total``; every name at its cap when the caps fall short."""
    k = _scale_for_total(p, cap, total)
    return cap.copy() if k == np.inf else np.minimum(cap, k * p)


def _project(
    p: np.ndarray,
    total: float,
    cap: np.ndarray,
    sector_of: np.ndarray | None,
    sector_cap: np.ndarray | None,
    members: list[np.ndarray] | None,
    sector_sums: np.ndarray | None = None,
) -> np.ndarray:
    """Core of the projection. p: (N,) > 0 or 0; cap: (N,) writable, 0 where p = 0; sector_cap: (S,);
    members: per sector, the indices of its names (None: found when needed); sector_sums: (S,) sector sums of the
    plain rescaling ``p * total / sum(p)`` if already computed."""
    if sector_of is None or sector_cap is None:
        return _fill(p, cap, total)
    n_sec = len(sector_cap)
    tolerance = sector_cap * (1 + 1e-12) + 1e-15
    if sector_sums is None:
        sector_sums = np.bincount(sector_of, weights=p * (total / float(p.sum())), minlength=n_sec)
    # Sector s's saturation scale k_s (where its names' sum min(u_i, k p_i) reaches C_s) gives effective caps
    # min(u_i, k_s p_i) that are harmless when the sector does not bind, so they can be set for any candidate sector:
    # first those over their cap in the plain rescaling, then any still over after solving the total.
    over = (sector_sums > tolerance).nonzero()[0]
    while True:
        for s in over.tolist():
            idx = members[s] if members is not None else (sector_of == s).nonzero()[0]
            k_s = _scale_for_total(p[idx], cap[idx], float(sector_cap[s]))
            if k_s != np.inf:
                cap[idx] = np.minimum(cap[idx], k_s * p[idx])
        w = _fill(p, cap, total)
        over = (np.bincount(sector_of, weights=w, minlength=n_sec) > tolerance).nonzero()[0]
        if len(over) == 0:
            return w


def sector_members(sector_of: np.ndarray, n_sectors: int) -> list[np.ndarray]:
    """Indices of the names in each sector: a list of S int arrays."""
    return [np.flatnonzero(sector_of == s) for s in range(n_sectors)]


def project_capped_simplex(
    p: np.ndarray,
    total: float,
    stock_cap: float | np.ndarray,
    sector_of: np.ndarray | None = None,
    sector_cap: float | np.ndarray | None = None,
    n_sectors: int | None = None,
) -> np.ndarray:
    """KL projection of the distribution ``p`` onto the capped simplex (see module docstring).

    p: (N,) non-negative (need not sum to 1; only ratios matter). total: target sum of the weights.
    stock_cap: scalar or (N,) per-name caps. sector_of: (N,) int sector index of each name; sector_cap: scalar or
    (S,) caps, S = ``n_sectors`` (defaults to ``sector_of.max() + 1``). Returns (N,) float64 weights with
    ``w <= stock_cap``, sector sums ``<= sector_cap`` and ``sum(w) == total`` when feasible, else filled to the caps.
    """
    p = np.asarray(p, dtype=np.float64)
    if float(p.sum()) <= 0 or total <= 0:
        return np.zeros(len(p))
    cap = np.where(p > 0, np.broadcast_to(np.asarray(stock_cap, dtype=np.float64), p.shape), 0.0)
    if sector_of is None or sector_cap is None:
        return _project(p, total, cap, None, None, None)
    n_sec = int(n_sectors if n_sectors is not None else sector_of.max() + 1)
    caps_s = np.broadcast_to(np.asarray(sector_cap, dtype=np.float64), (n_sec,))
    return _project(p, total, cap, sector_of, caps_s, None)


class CappedSimplexProjector:
    """:func:`project_capped_simplex` with scalar caps and the sector layout prepared once (the simulator's hot
    path). ``projector(p, total)`` -> (N,) weights, identical to the function."""

    def __init__(self, sector_of: np.ndarray, n_sectors: int, stock_cap: float, sector_cap: float):
        self.sector_of = np.asarray(sector_of, dtype=np.int64)
        self.n_sectors = int(n_sectors)
        self.stock_cap = float(stock_cap)
        self.sector_cap = float(sector_cap)
        self._caps_s = np.full(self.n_sectors, self.sector_cap)
        self._members = sector_members(self.sector_of, self.n_sectors)
        self._cap = np.full(len(self.sector_of), self.stock_cap)

    def __call__(self, p: np.ndarray, total: float) -> np.ndarray:
        mass = float(p.sum())
        if mass <= 0 or total <= 0:
            return np.zeros(len(p))
        # fast path: when no cap binds the projection is the plain rescaling (k = total / sum p)
        w = p * (total / mass)
        sector_sums = np.bincount(self.sector_of, weights=w, minlength=self.n_sectors)
        if float(w.max()) <= self.stock_cap and float(sector_sums.max()) <= self.sector_cap:
            return w
        cap = self._cap.copy() if float(p.min()) > 0 else np.where(p > 0, self.stock_cap, 0.0)
        return _project(p, total, cap, self.sector_of, self._caps_s, self._members, sector_sums)


def logits_to_weights(
    logits: np.ndarray,
    mask: np.ndarray,
    total: float,
    stock_cap: float | np.ndarray,
    sector_of: np.ndarray | None = None,
    sector_cap: float | np.ndarray | None = None,
    n_sectors: int | None = None,
    logit_scale: float = 1.0,
) -> np.ndarray:
    """Masked softmax of ``logit_scale * logits`` projected onto the capped simplex. Shapes as above: (N,)."""
    return project_capped_simplex(
        masked_softmax(logit_scale * np.asarray(logits, dtype=np.float64), mask),
        total,
        stock_cap,
        sector_of,
        sector_cap,
        n_sectors,
    )


def tilt_weights(logits: np.ndarray, mask: np.ndarray, active_share: float) -> np.ndarray:
    """Equal weights over ``mask`` plus a tilt proportional to the demeaned logits, scaled so that half the L1
    distance from equal weights is ``active_share``; negative weights are cut to 0 and the rest renormalised.

    The logits give the direction, ``active_share`` the conviction: a network whose logits barely differ still bets
    a chosen share of the book. Equal logits (or one name) give equal weights. logits, mask: (S,). Returns (S,)
    summing to 1, zeros outside the mask (all zeros when the mask is empty).
    """
    mask = np.asarray(mask, dtype=bool)
    n = int(mask.sum())
    out = np.zeros(len(mask))
    if n == 0:
        return out
    z = np.asarray(logits, dtype=np.float64)[mask]
    z = z - z.mean()
    spread = float(np.abs(z).sum())
    w = np.full(n, 1.0 / n)
    if spread > 1e-12 and active_share > 0:
        w = np.maximum(w + z * (2.0 * active_share / spread), 0.0)
        w /= w.sum()
    out[mask] = w
    return out


def sector_allocation(
    logits: np.ndarray,
    mask: np.ndarray,
    previous: np.ndarray | None,
    rule: str,
    logit_scale: float,
    active_share: float,
    trade_rate: float,
    sector_cap: float,
) -> np.ndarray:
    """The macro agent's sector weights (S,) from its sector logits (S,) at a decision: the target of ``rule``
    (``tilt``: :func:`tilt_weights`; ``softmax``: ``softmax(logit_scale * logits)``) over the sectors in ``mask``,
    moved from ``previous`` (the last allocation; None: equal weights over ``mask``, at a first decision) by
    ``trade_rate`` of the way (1 = all the way), then projected onto the simplex with ``sector_cap``. Sums to 1 when
    any sector is tradable.
    """
    x = np.asarray(logits, dtype=np.float64)
    target = tilt_weights(x, mask, active_share) if rule == "tilt" else masked_softmax(logit_scale * x, mask)
    if trade_rate < 1.0:
        held = np.where(mask, 1.0 if previous is None else np.asarray(previous, dtype=np.float64), 0.0)
        if held.sum() > 0:
            target = held / held.sum() + trade_rate * (target - held / held.sum())
    return project_capped_simplex(target, 1.0, sector_cap)
