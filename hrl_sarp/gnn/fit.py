"""Fit the sector GNN end to end: graphs -> walk-forward training -> evaluation -> warehouse -> MLflow.

:func:`fit_sector_embeddings` is the pure core over arrays (what the tests and the lookahead check call);
:func:`fit_gnn` reads the feature build, runs the core, writes the embeddings and records the run. Its progress:
a tqdm bar when stderr is a terminal, otherwise INFO lines on logger ``hrl_sarp.gnn.fit`` (``gnn fit 2/6 (152
weeks) epoch 60/60: loss_rank 0.512 loss_recon 0.498``, about 30 per fit plus each refit's last epoch).

Shapes: T dates, S sectors, M macro features, W weeks, D embedding dims.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from hrl_sarp.config import Config, GnnConfig
from hrl_sarp.gnn.evaluate import link_auc, ridge_probe, weekly_rank_ic
from hrl_sarp.gnn.graphs import (
    WeeklyGraphs,
    build_weekly_graphs,
    macro_conditioned_features,
    macro_state,
    next_week_returns,
    sector_identity_features,
    trailing_returns,
)
from hrl_sarp.gnn.train import GnnEpoch, TrainSettings, WalkForwardResult, fit_walk_forward, plan_walk_forward
from hrl_sarp.logs import epoch_due, progress_bar

RAW_PROBE_HORIZONS = (5, 20, 60)  # trailing sessions of the raw-return probe
MACRO_SHORT_CHANGE_DAYS = 20  # macro terms: level, change over 20 sessions and over the graph window
log = logging.getLogger(__name__)


@dataclass
class GnnFit:
    week_dates: np.ndarray  # (W,) datetime64[D] week-end dates
    sectors: np.ndarray  # (S,)
    embeddings: np.ndarray  # (W, S, D), NaN where not embedded
    embedded: np.ndarray  # (W,) bool
    feature_names: tuple[str, ...]  # (F,) node features fed to the encoder
    graphs: WeeklyGraphs
    labels: np.ndarray  # (W, S) LABEL next-week sector returns
    result: WalkForwardResult
    split_week: np.ndarray  # (W,) 0 train, 1 validation, 2 test (by the week's end date)
    metrics: dict[str, float]


def _settings(gnn: GnnConfig, seed: int) -> TrainSettings:
    """The fit's hyperparameters: every ``TrainSettings`` field that ``GnnConfig`` has, taken from the config."""
    from_config = {f.name: getattr(gnn, f.name) for f in fields(TrainSettings) if f.name in GnnConfig.model_fields}
    return TrainSettings(**from_config, seed=seed)


def node_inputs(
    graphs: WeeklyGraphs,
    macro: np.ndarray | None,
    macro_names: tuple[str, ...],
    use_macro: bool,
    change_days: tuple[int, ...] = (),
    include_level: bool = True,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """(W, S, F) encoder inputs: sector statistics, sector identity and (optionally) sector-specific macro terms
    (one-hot(sector) ⊗ [macro level, macro change over each of ``change_days`` sessions])."""
    ident, ident_names = sector_identity_features(graphs.n_weeks, graphs.n_sectors)
    parts, names = [graphs.node_features, ident], [*graphs.feature_names, *ident_names]
    if use_macro and macro is not None and macro.ndim == 2 and macro.shape[1] > 0:
        state, state_names = macro_state(macro, graphs.week_end_index, macro_names, change_days, include_level)
        terms, term_names = macro_conditioned_features(state, graphs.n_sectors, state_names)
        parts.append(terms)
        names.extend(term_names)
    return np.concatenate(parts, axis=-1), tuple(names)


def split_of_weeks(week_end_index: np.ndarray, n_dates: int, train_fraction: float, val_fraction: float) -> np.ndarray:
    """(W,) 0/1/2 = train/validation/test by where each week's last session falls in the date split."""
    train_end = int(n_dates * train_fraction) - 1
    val_end = int(n_dates * (train_fraction + val_fraction)) - 1
    ends = np.asarray(week_end_index)
    return np.where(ends <= train_end, 0, np.where(ends <= val_end, 1, 2))


def evaluate_fit(
    embeddings: np.ndarray,
    embedded: np.ndarray,
    scores: np.ndarray,
    pair_scores: np.ndarray,
    adjacency: np.ndarray,
    labels: np.ndarray,
    raw_features: np.ndarray,
    split_week: np.ndarray,
) -> dict[str, float]:
    """Held-out quality: probe rank ICs (embeddings vs raw trailing returns), head rank IC, link AUC.

    The probes are fitted on embedded training weeks whose label lies inside the training split and scored on the
    validation weeks (``val_*``), the test weeks (``test_*``) and both (``heldout_*``). Shapes as in :class:`GnnFit`; raw_features:
    (W, S, H) trailing returns; adjacency: (W, S, S); pair_scores: (W, S(S-1)/2).
    """
    n_weeks, n_sectors = labels.shape
    label_in_train = np.r_[split_week[1:] == 0, False]  # label of week w realised at week w + 1
    fit_weeks = embedded & (split_week == 0) & label_in_train
    pi, pj = np.triu_indices(n_sectors, k=1)
    metrics: dict[str, float] = {"weeks_embedded": float(embedded.sum()), "probe_fit_weeks": float(fit_weeks.sum())}
    for name, codes in (("val", (1,)), ("test", (2,)), ("heldout", (1, 2))):
        weeks = embedded & np.isin(split_week, codes)
        emb = ridge_probe(embeddings, labels, fit_weeks, weeks)
        raw = ridge_probe(raw_features, labels, fit_weeks, weeks)
        head = weekly_rank_ic(scores[weeks], labels[weeks])
        metrics.update(
            {
                f"{name}_rank_ic": emb["rank_ic"],
                f"{name}_rank_ic_t": emb["rank_ic_t"],
                f"{name}_probe_alpha": emb["alpha"],
                f"{name}_raw_probe_rank_ic": raw["rank_ic"],
                f"{name}_raw_probe_rank_ic_t": raw["rank_ic_t"],
                f"{name}_head_rank_ic": float(np.nanmean(head)) if np.isfinite(head).any() else float("nan"),
                f"{name}_link_auc": link_auc(pair_scores[weeks], adjacency[weeks][:, pi, pj] > 0),
                f"{name}_weeks": float(emb["weeks"]),
            }
        )
    return metrics


def fit_sector_embeddings(
    dates: np.ndarray,
    sectors: np.ndarray,
    sector_returns: np.ndarray,
    benchmark_returns: np.ndarray,
    week_end_index: np.ndarray,
    gnn: GnnConfig,
    train_fraction: float,
    val_fraction: float,
    seed: int,
    macro: np.ndarray | None = None,
    macro_names: tuple[str, ...] = (),
    on_epoch: Callable[[GnnEpoch], None] | None = None,
) -> GnnFit:
    """Walk-forward sector embeddings and their held-out quality, from daily arrays.

    dates: (T,) datetime64; sectors: (S,); sector_returns: (T, S) daily sector returns (per-symbol returns
    aggregated); benchmark_returns: (T,); week_end_index: (W,) row of each week's last session; macro: (T, M)
    macro state known at each date (optional). The embedding of week w uses only rows ``<= week_end_index[w]``.
    """
    graphs = build_weekly_graphs(sector_returns, benchmark_returns, week_end_index, gnn.window_days, gnn.edge_threshold)
    # Changes reach back at most to the first session of the graph window (window_days - 1 sessions).
    change_days = tuple(sorted({min(MACRO_SHORT_CHANGE_DAYS, gnn.window_days - 1), gnn.window_days - 1}))
    features, names = node_inputs(graphs, macro, macro_names, gnn.macro_features, change_days)
    labels = next_week_returns(sector_returns, week_end_index)
    n_dates = len(dates)
    plan = plan_walk_forward(
        graphs.valid, week_end_index, n_dates, train_fraction, gnn.min_train_weeks, gnn.refit_every_weeks
    )
    result = fit_walk_forward(features, graphs.adjacency, labels, graphs.valid, plan, _settings(gnn, seed), on_epoch)
    split_week = split_of_weeks(week_end_index, n_dates, train_fraction, val_fraction)
    raw = trailing_returns(sector_returns, week_end_index, RAW_PROBE_HORIZONS)
    metrics = evaluate_fit(
        result.embeddings, result.embedded, result.scores, result.pair_scores, graphs.adjacency, labels, raw, split_week
    )
    metrics["anchors"] = float(len(plan.anchors))
    metrics["mean_degree"] = float(graphs.node_features[graphs.valid][..., graphs.feature_names.index("degree")].mean())
    return GnnFit(
        week_dates=np.asarray(dates).astype("datetime64[D]")[np.asarray(week_end_index)],
        sectors=np.asarray(sectors),
        embeddings=result.embeddings,
        embedded=result.embedded,
        feature_names=names,
        graphs=graphs,
        labels=labels,
        result=result,
        split_week=split_week,
        metrics=metrics,
    )


@dataclass
class GnnSummary:
    model_version: str
    build_id: str
    encoder: str
    weeks_embedded: int
    first_embedded_week: str | None
    anchors: list[str]
    val_rank_ic: float
    raw_probe_rank_ic: float
    link_auc: float
    test_rank_ic: float
    raw_probe_test_rank_ic: float
    heldout_rank_ic: float
    raw_probe_heldout_rank_ic: float
    head_rank_ic: float
    rows_written: int
    fit_seconds: float
    seconds: float
    mlflow_run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def plot_embeddings(fit: GnnFit, path: str | Path) -> Path:
    """PNG: 2-D PCA of all embedded (week, sector) vectors coloured by sector, and PC1 over time per sector."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    weeks = np.flatnonzero(fit.embedded)
    emb = fit.embeddings[weeks]  # (K, S, D)
    flat = emb.reshape(-1, emb.shape[-1])
    centred = flat - flat.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    proj = (centred @ vt[:2].T).reshape(len(weeks), len(fit.sectors), 2)
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5))
    cmap = plt.get_cmap("tab20")
    for s, sector in enumerate(fit.sectors):
        colour = cmap(s % 20)
        left.scatter(proj[:, s, 0], proj[:, s, 1], s=6, alpha=0.5, color=colour, label=str(sector))
        right.plot(fit.week_dates[weeks], proj[:, s, 0], lw=0.8, color=colour, label=str(sector))
    for code, shade in ((1, "#eeeeee"), (2, "#dddddd")):
        span = fit.week_dates[fit.split_week == code]
        if len(span):
            right.axvspan(span[0], span[-1], color=shade, zorder=0)
    left.set(title="Sector embeddings, PCA (all weeks)", xlabel="PC1", ylabel="PC2")
    right.set(title="PC1 over time (shaded: validation, test)", xlabel="week", ylabel="PC1")
    left.legend(fontsize=7, markerscale=2, ncol=2)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _log_tracking(cfg: Config, fit: GnnFit, summary: GnnSummary, parent_run_id: str | None) -> str:
    import mlflow
    import torch
    from mlflow.entities import Metric

    from hrl_sarp import tracking

    tags = {"gnn_model_version": summary.model_version, "build_id": summary.build_id}
    with tracking.stage_run(cfg, "fit_gnn", tags=tags, parent_run_id=parent_run_id) as run:
        tracking.log_params({f"gnn.{k}": v for k, v in cfg.gnn.model_dump(mode="json").items()})
        now = int(time.time() * 1000)
        history: list[Metric] = []
        epochs = cfg.gnn.epochs
        for k, model in enumerate(fit.result.models):
            for e, (lr_, lc) in enumerate(zip(model.loss_rank, model.loss_recon, strict=True)):
                step = k * epochs + e
                history.append(Metric("gnn/loss_rank", lr_, now, step))
                history.append(Metric("gnn/loss_recon", lc, now, step))
                total = cfg.gnn.ranking_weight * lr_ + cfg.gnn.reconstruction_weight * lc
                history.append(Metric("gnn/loss_total", total, now, step))
        client = mlflow.tracking.MlflowClient()
        for start in range(0, len(history), 900):
            client.log_batch(run.info.run_id, metrics=history[start : start + 900])
        finals = {
            "gnn/val_rank_ic": summary.val_rank_ic,
            "gnn/raw_probe_rank_ic": summary.raw_probe_rank_ic,
            "gnn/link_auc": summary.link_auc,
            "gnn/test_rank_ic": summary.test_rank_ic,
            "gnn/raw_probe_test_rank_ic": summary.raw_probe_test_rank_ic,
            "gnn/heldout_rank_ic": summary.heldout_rank_ic,
            "gnn/raw_probe_heldout_rank_ic": summary.raw_probe_heldout_rank_ic,
            "gnn/head_rank_ic": summary.head_rank_ic,
            "gnn/weeks_embedded": summary.weeks_embedded,
            "gnn/fit_seconds": summary.fit_seconds,
        }
        finals.update({f"gnn/detail/{k}": v for k, v in fit.metrics.items()})
        tracking.log_metrics({k: v for k, v in finals.items() if v is not None and np.isfinite(v)})
        with tempfile.TemporaryDirectory() as tmp:
            ckpt = Path(tmp) / "sector_gnn.pt"
            torch.save(
                {
                    "model_version": summary.model_version,
                    "feature_names": list(fit.feature_names),
                    "gnn_config": cfg.gnn.model_dump(mode="json"),
                    "anchors": [
                        {
                            "anchor_week_end": str(fit.week_dates[m.anchor_week]),
                            "train_weeks": m.train_weeks,
                            "feature_mean": m.feature_mean,
                            "feature_std": m.feature_std,
                            "state_dict": m.state_dict,
                        }
                        for m in fit.result.models
                    ],
                },
                ckpt,
            )
            mlflow.log_artifact(str(ckpt), artifact_path="model")
            mlflow.log_artifact(str(plot_embeddings(fit, Path(tmp) / "sector_embeddings_pca.png")), "plots")
            meta = Path(tmp) / "gnn_summary.json"
            meta.write_text(json.dumps({**summary.to_dict(), "metrics": fit.metrics}, indent=2, default=float))
            mlflow.log_artifact(str(meta))
        return run.info.run_id


def fit_gnn(
    con: duckdb.DuckDBPyConnection,
    cfg: Config,
    build_id: str | None = None,
    progress: bool = True,
    track: bool = True,
    parent_run_id: str | None = None,
) -> GnnSummary:
    """Fit walk-forward sector embeddings on a feature build, store them, record the run in MLflow.

    Idempotent: the model version is a hash of (build id, gnn config, seed); re-running replaces the same rows with
    the same values. ``con`` must be writable. ``progress``: a progress bar when stderr is a terminal; without one the
    epochs are logged.
    """
    from hrl_sarp.features.loader import load_feature_arrays
    from hrl_sarp.gnn.store import embeddings_frame, gnn_config_hash, model_version, write_embeddings
    from schemas.embeddings import validate_embeddings

    began = time.perf_counter()
    arrays = load_feature_arrays(con, build_id)
    version = model_version(arrays.build_id, cfg)

    bar = progress_bar(progress, desc="fit-gnn", unit="epoch")

    def on_epoch(e: GnnEpoch) -> None:
        if bar is not None:
            if bar.total is None:
                bar.total = e.n_anchors * e.n_epochs
            bar.update(1)
            bar.set_postfix(fit=f"{e.anchor + 1}/{e.n_anchors}", rank=f"{e.loss_rank:.3f}", recon=f"{e.loss_recon:.3f}")
        elif epoch_due(e.anchor * e.n_epochs + e.epoch, e.n_anchors * e.n_epochs) or e.epoch + 1 == e.n_epochs:
            log.info(
                "gnn fit %d/%d (%d weeks) epoch %d/%d: loss_rank %.4g loss_recon %.4g",
                e.anchor + 1, e.n_anchors, e.train_weeks, e.epoch + 1, e.n_epochs, e.loss_rank, e.loss_recon,
            )  # fmt: skip

    fit_began = time.perf_counter()
    try:
        fit = fit_sector_embeddings(
            arrays.dates,
            arrays.sectors,
            arrays.sector_returns,
            arrays.benchmark_returns,
            arrays.week_end_index,
            cfg.gnn,
            cfg.splits.train_fraction,
            cfg.splits.val_fraction,
            cfg.seed,
            macro=arrays.macro,
            macro_names=arrays.macro_names,
            on_epoch=on_epoch,
        )
    finally:
        if bar is not None:
            bar.close()
    fit_seconds = time.perf_counter() - fit_began

    frame = validate_embeddings(
        embeddings_frame(version, arrays.build_id, fit.week_dates, fit.sectors, fit.embeddings, fit.embedded),
        cfg.gnn.embedding_dim,
    )
    m = fit.metrics
    embedded_weeks = fit.week_dates[fit.embedded]
    summary = GnnSummary(
        model_version=version,
        build_id=arrays.build_id,
        encoder=cfg.gnn.encoder,
        weeks_embedded=int(fit.embedded.sum()),
        first_embedded_week=str(embedded_weeks[0]) if len(embedded_weeks) else None,
        anchors=[str(fit.week_dates[a]) for a in fit.result.plan.anchors],
        val_rank_ic=m["val_rank_ic"],
        raw_probe_rank_ic=m["val_raw_probe_rank_ic"],
        link_auc=m["val_link_auc"],
        test_rank_ic=m["test_rank_ic"],
        raw_probe_test_rank_ic=m["test_raw_probe_rank_ic"],
        heldout_rank_ic=m["heldout_rank_ic"],
        raw_probe_heldout_rank_ic=m["heldout_raw_probe_rank_ic"],
        head_rank_ic=m["val_head_rank_ic"],
        rows_written=0,
        fit_seconds=round(fit_seconds, 3),
        seconds=0.0,
    )
    stored_metrics = {**m, "anchor_weeks": summary.anchors, "feature_names": list(fit.feature_names)}
    summary.rows_written = write_embeddings(
        con, frame, version, arrays.build_id, gnn_config_hash(cfg), cfg.gnn.encoder, stored_metrics
    )
    if track:
        summary.mlflow_run_id = _log_tracking(cfg, fit, summary, parent_run_id)
    summary.seconds = round(time.perf_counter() - began, 3)
    log.info(
        "gnn done: %d weeks embedded, val rank IC %.4g (raw-return probe %.4g), %.1f s",
        summary.weeks_embedded, summary.val_rank_ic, summary.raw_probe_rank_ic, summary.seconds,
    )  # fmt: skip
    return summary
