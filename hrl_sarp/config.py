"""One typed configuration per run.

``config/default.yaml`` holds every key; a profile (``config/demo.yaml``, ``config/full.yaml``) overlays it, and
explicit overrides (CLI flags, env vars) overlay the profile. Unknown keys and bad values raise :class:`ConfigError`
naming the dotted key and the problem.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hrl_sarp.domain import DataSource, GraphEncoder
from hrl_sarp.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / "config"
# Relative output paths (artifacts/, mlruns/, the warehouse) are taken from here: the repository, or
# HRL_SARP_OUTPUT_ROOT (tests point it at a temp dir, so a run writes nothing into the working tree).
OUTPUT_ROOT_ENV = "HRL_SARP_OUTPUT_ROOT"


def output_path(path: str | Path) -> Path:
    """``path`` as an absolute path: as given when absolute (``~`` expanded), else under the output root."""
    path = Path(path).expanduser()
    if path.is_absolute():
        return path
    return Path(os.environ.get(OUTPUT_ROOT_ENV) or REPO_ROOT) / path


WAREHOUSE_ENV = "HRL_SARP_WAREHOUSE"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SyntheticConfig(_Model):
    """Parameters of the seeded synthetic market (see docs/synthetic_market.md)."""

    seed: int = 7
    start: dt.date = dt.date(2015, 1, 1)
    end: dt.date = dt.date(2024, 12, 31)
    sectors: list[str] = Field(
        default_factory=lambda: [
            "IT",
            "Financials",
            "Auto",
            "Pharma",
            "FMCG",
            "Energy",
            "Metals",
            "Realty",
            "Media",
            "Telecom",
            "Infra",
        ],
        min_length=2,
    )
    stocks_per_sector: int = Field(5, ge=1, le=200)
    regime_persistence: float = Field(0.9, gt=0.0, lt=1.0)
    signal_strength: float = Field(1.0, ge=0.0, description="Scale of the planted macro->sector drift loadings")
    fundamentals_lag_days: int = Field(45, ge=0)
    sector_drift_vol: float = Field(
        0.10, ge=0.0, description="Annualised std of each planted sector drift at signal_strength 1"
    )
    momentum_premium: float = Field(0.03, description="Annualised drift per cross-sectional sd of stock momentum")
    value_premium: float = Field(0.03, description="Annualised drift per sd of the latent stock cheapness")
    sentiment_signal: float = Field(
        0.25, ge=0.0, description="Loading of daily sector sentiment on the next week's standardised drift"
    )
    listing_churn: float = Field(0.1, ge=0.0, le=1.0, description="Share of stocks listed late or delisted early")


class DataConfig(_Model):
    source: DataSource = "synthetic"
    path: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    benchmark: str | None = Field(
        None,
        description="Symbol of the benchmark index row; unset: the data's only index row (hrl_sarp.data.benchmark)",
    )
    synthetic: SyntheticConfig = SyntheticConfig()


class FeatureConfig(_Model):
    regime_bull_threshold: float = 0.02
    regime_bear_threshold: float = -0.02
    warmup_days: int = Field(60, ge=1, description="Leading sessions dropped so rolling windows are full")
    macro_publication_lag_days: dict[str, int] = Field(default_factory=dict)
    default_macro_lag_days: int = Field(0, ge=0)
    forward_horizon_days: int = Field(5, ge=1)

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> FeatureConfig:
        if self.regime_bear_threshold >= self.regime_bull_threshold:
            raise ValueError("regime_bear_threshold must be below regime_bull_threshold")
        return self


class SplitConfig(_Model):
    """Time split as fractions of the available dates (adapts to any date range)."""

    train_fraction: float = Field(0.6, gt=0.0, lt=1.0)
    val_fraction: float = Field(0.2, gt=0.0, lt=1.0)
    embargo_days: int = Field(5, ge=0)

    @model_validator(mode="after")
    def _fractions_fit(self) -> SplitConfig:
        if self.train_fraction + self.val_fraction >= 1.0:
            raise ValueError("train_fraction + val_fraction must be below 1")
        return self


class GnnConfig(_Model):
    encoder: GraphEncoder = "gcn"
    window_days: int = Field(60, ge=10)
    edge_threshold: float = Field(0.3, ge=0.0, le=1.0)
    hidden_dim: int = Field(32, ge=1)
    embedding_dim: int = Field(64, ge=1)
    epochs: int = Field(60, ge=1)
    learning_rate: float = Field(3e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    ranking_weight: float = Field(1.0, ge=0)
    reconstruction_weight: float = Field(0.5, ge=0)
    dropout: float = Field(0.1, ge=0, lt=1)
    min_train_weeks: int = Field(104, ge=4, description="Labelled weeks before the first walk-forward refit")
    refit_every_weeks: int = Field(52, ge=1, description="Weeks between walk-forward refits inside the training split")
    macro_features: bool = Field(True, description="Add one-hot(sector) x macro-state node features")


class CostConfig(_Model):
    """Per-market trading costs in basis points of traded value (Indian delivery by default)."""

    stt_buy_bps: float = 10.0
    stt_sell_bps: float = 10.0
    exchange_bps: float = 0.325
    sebi_bps: float = 0.01
    gst_rate: float = 0.18
    stamp_duty_buy_bps: float = 1.5
    brokerage_bps: float = 0.0
    slippage_bps: float = 5.0


class RiskConfig(_Model):
    sector_cap: float = Field(0.35, gt=0, le=1)
    stock_cap: float = Field(0.10, gt=0, le=1)
    min_cash: float = Field(0.02, ge=0, lt=1)
    drawdown_gate: float = Field(0.07, gt=0, lt=1)
    drawdown_reenter: float = Field(0.03, ge=0, lt=1)
    adv_window_days: int = Field(20, ge=1)
    min_adv_value: float = Field(0.0, ge=0, description="Minimum 20-day average traded value to be tradable")
    cvar_budget: float = Field(0.05, gt=0, lt=1, description="Max daily CVaR95 loss before exposure is scaled")
    cvar_window_days: int = Field(60, ge=5, description="Trailing days of returns known at t for the CVaR95 budget")
    gated_exposure: float = Field(0.0, ge=0, le=1, description="Invested fraction while the drawdown gate is closed")
    drawdown_lookback_days: int = Field(
        63, ge=0, description="Gate drawdown is measured from the peak of this many trailing sessions (0 = all)"
    )
    drawdown_rule: Literal["gate", "scale"] = Field(
        "scale",
        description="gate: invest gated_exposure while the drawdown exceeds drawdown_gate, until back within "
        "drawdown_reenter (the seed's rule); scale: exposure falls linearly from 1 at drawdown_reenter to "
        "overlay_floor at drawdown_gate and beyond",
    )
    overlay_floor: float = Field(0.5, ge=0, le=1, description="Least exposure of the 'scale' rule")

    @model_validator(mode="after")
    def _gate_order(self) -> RiskConfig:
        if self.drawdown_reenter >= self.drawdown_gate:
            raise ValueError("drawdown_reenter must be below drawdown_gate")
        return self


class RewardConfig(_Model):
    mode: Literal["attributed", "seed"] = Field(
        "attributed",
        description="attributed: the macro earns its allocation's excess over equal sector weights net of the costs "
        "its trades cause (+ regime_weight x R_regime); seed: the seed's mixes (macro_mix, micro_mix)",
    )
    regime_weight: float = Field(0.002, ge=0, description="attributed mode: weight of R_regime in the macro reward")
    hhi_penalty: float = 0.1
    turnover_penalty: float = 0.001
    micro_sharpe_weight: float = 0.5
    micro_goal_weight: float = 0.3
    micro_drawdown_weight: float = 0.2
    micro_drawdown_free: float = 0.05
    value_pe_z_threshold: float = -0.5
    regime_hit: float = 0.3
    regime_miss: float = -0.1
    macro_mix: dict[str, float] = Field(
        default_factory=lambda: {"macro": 0.4, "portfolio": 0.3, "regime": 0.2, "value": 0.1}
    )
    micro_mix: dict[str, float] = Field(default_factory=lambda: {"micro": 0.5, "portfolio": 0.3, "value": 0.2})
    sharpe_window_days: int = Field(5, ge=2, description="Daily returns in Sharpe_week")
    sharpe_std_floor: float = Field(1e-4, gt=0, description="Floor on the daily std in Sharpe_week")
    portfolio_window_days: int = Field(
        20, ge=2, description="Trailing daily returns for Calmar and CVaR95 in R_portfolio"
    )
    calmar_drawdown_floor: float = Field(0.01, gt=0, description="Floor on the drawdown in the Calmar ratio")


class EnvConfig(_Model):
    """Gymnasium environments (see docs/environments.md)."""

    initial_nav: float = Field(10_000_000.0, gt=0, description="Starting portfolio value in the market currency")
    logit_scale: float = Field(5.0, gt=0, description="Actions in [-1, 1] are multiplied by this before the softmax")
    max_stocks: int = Field(0, ge=0, description="Padded stock dimension N_max; 0 = number of stocks in the data")
    micro_episode_days: int = Field(60, ge=1)
    macro_episode_weeks: int = Field(26, ge=1)
    macro_step_days: int = Field(5, ge=1, description="Trading days per macro step")
    macro_embeddings: bool = Field(
        True,
        description="The macro agent observes the GNN sector embeddings (false: it sees the macro state and its "
        "previous allocation only, so the embeddings' value is measured, not assumed)",
    )
    macro_sector_features: bool = Field(
        True,
        description="The macro agent observes the build's per-sector features (sector news sentiment, "
        "sentiment_1w) beside each sector's embedding",
    )
    macro_allocation: Literal["tilt", "softmax"] = Field(
        "tilt",
        description="Macro logits -> sector weights: tilt (equal weights + a tilt of fixed active share along the "
        "demeaned logits) or softmax (the seed's softmax(logit_scale * logits))",
    )
    active_share: float = Field(
        0.25, ge=0, le=1, description="tilt rule: half the L1 distance of each target from equal sector weights"
    )
    macro_trade_rate: float = Field(
        0.5, gt=0, le=1, description="Each week the sector weights move this share of the way to the new target"
    )


class PretrainConfig(_Model):
    """Phase 1 (macro) and Phase 2 (micro) supervised pretraining (see docs/pretraining.md)."""

    macro_epochs: int = Field(200, ge=1)
    macro_daily_samples: bool = Field(True, description="Phase 1 samples every trading date, not only week ends")
    micro_epochs: int = Field(30, ge=1)
    macro_learning_rate: float = Field(3e-4, gt=0)
    micro_learning_rate: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-2, ge=0)
    batch_size: int = Field(64, ge=1)
    patience: int = Field(15, ge=1, description="Epochs without a validation-loss improvement before stopping")
    macro_temperature: float = Field(2.0, gt=0, description="Phase 1 target = softmax(standardised returns / T)")
    micro_temperature: float = Field(1.0, gt=0, description="Phase 2 within-sector target temperature")
    allocation_weight: float = Field(
        0.0, ge=0, description="Weight of the gradient allocation loss next to regime CE (on top of the linear start)"
    )
    macro_select: Literal["val_loss", "val_rank_ic"] = Field(
        "val_loss",
        description="Phase 1 keeps the epoch with the lowest validation loss or the highest validation rank IC of "
        "its sector logits (the direction the tilt rule trades)",
    )
    allocation_loss: Literal["kl", "tilt"] = Field(
        "kl",
        description="Phase 1 allocation loss: kl (KL to softmax(standardised next-week returns / T)) or tilt (minus "
        "the standardised next-week return of the tilt rule's direction)",
    )
    regime_class_balance: bool = Field(
        False, description="Phase 1 weighs each regime's cross-entropy by its inverse training frequency"
    )
    macro_linear_start: Literal["ridge", "zero"] = Field(
        "ridge",
        description="Phase 1 starts the macro network's linear sector paths from a closed-form ridge fit of the "
        "standardised next-week sector returns (ridge) or from zero (zero: gradient training only)",
    )
    macro_linear_penalty: float = Field(
        3000.0, gt=0, description="Ridge penalty of the linear start (standardised inputs; chosen on validation)"
    )
    macro_linear_std: float = Field(
        0.3,
        gt=0,
        description="The linear start's sector scores are scaled to this standard deviation over training samples",
    )
    hidden_dim: int = Field(32, ge=4)
    sector_id_dim: int = Field(8, ge=0)
    dropout: float = Field(0.3, ge=0, lt=1, description="Dropout in the networks' MLP paths (training only)")
    goals_per_date: int = Field(4, ge=1, description="Phase 2: sampled sector goals per training date")
    goal_concentration: float = Field(1.0, gt=0, description="Phase 2: Dirichlet concentration of sampled goals")
    output_dir: str = Field("artifacts/models", description="Checkpoint folder (relative to the repository root)")

    @model_validator(mode="after")
    def _sector_paths_learn(self) -> PretrainConfig:
        if self.macro_linear_start == "zero" and self.allocation_weight == 0:
            raise ValueError(
                "macro_linear_start 'zero' with allocation_weight 0 trains nothing of the sector scores (a uniform "
                "allocator): set allocation_weight > 0 or macro_linear_start 'ridge'"
            )
        return self


class TrackingConfig(_Model):
    uri: str | None = Field(None, description="MLflow tracking URI; default sqlite under mlruns/; env overrides")
    experiment: str = "hrl-sarp"
    artifact_dir: str = "mlruns/artifacts"


class BacktestConfig(_Model):
    """Walk-forward backtest and baselines (see docs/backtest.md); windows in trading days."""

    mode: Literal["rolling", "expanding"] = "expanding"
    train_days: int = Field(756, ge=1, description="Training window (rolling) or minimum training span (expanding)")
    test_days: int = Field(252, ge=1, description="Out-of-sample test window per fold")
    embargo_days: int = Field(5, ge=0, description="Sessions dropped between training and test (>= label horizon)")
    min_train_days: int = Field(126, ge=1, description="Shortest training window when data are too short")
    min_test_days: int = Field(21, ge=1, description="Shortest test window when data are too short")
    max_folds: int = Field(0, ge=0, description="Keep only the most recent folds; 0 = all")
    rebalance: Literal["weekly", "daily"] = "weekly"
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    bootstrap_samples: int = Field(1000, ge=10)
    bootstrap_block_days: float = Field(20.0, ge=1.0, description="Mean block length of the stationary bootstrap")
    bootstrap_confidence: float = Field(0.95, gt=0.0, lt=1.0)
    momentum_lookback_days: int = Field(126, ge=2)
    ridge_penalty: float = Field(
        100.0, ge=0, description="Ridge baseline: L2 penalty on the standardised macro features (weekly samples)"
    )
    covariance_lookback_days: int = Field(126, ge=5, description="Trailing returns for minimum variance / risk parity")
    flat_rl_timesteps: int = Field(
        2048, ge=0, description="PPO steps (weeks) of the flat-RL baseline per fold and seed; 0 = leave it out"
    )
    flat_rl_episode_weeks: int = Field(26, ge=1, description="Episode length of the flat-RL baseline's training")


class RebalanceConfig(_Model):
    """Turning the weekly target into orders (see docs/backtest.md, "Rebalance")."""

    lot_size: int = Field(1, ge=1, description="Shares per trading lot; trades are whole lots (full exits excepted)")
    max_staleness_sessions: int = Field(
        2,
        ge=0,
        description="Warn when more than this many weekday sessions have passed since the latest close in the "
        "warehouse (exchange holidays are not known here)",
    )


class StressWindow(_Model):
    """A dated stress spell (crash, rate-hike cycle) whose episodes the curriculum's ``stress`` pool holds."""

    name: str
    start: dt.date
    end: dt.date


class CurriculumStage(_Model):
    """One curriculum stage: the probability of drawing an episode start from each pool, and the validation
    excess Sharpe (system minus equal weight, annualised) that promotes training to the next stage (None: the last
    stage)."""

    name: str
    mix: dict[Literal["calm_bull", "mixed", "stress"], float]
    promote_at_excess_sharpe: float | None = None


class CurriculumConfig(_Model):
    """Episode-start curriculum for Phases 3-5 (see docs/rl.md)."""

    enabled: bool = True
    calm_bull_share: float = Field(0.6, ge=0, le=1, description="Min share of Bull rows in a calm-bull episode")
    stress_bear_share: float = Field(0.4, ge=0, le=1, description="Min share of Bear rows that makes an episode stress")
    stress_drawdown: float = Field(0.10, gt=0, lt=1, description="Benchmark drawdown inside an episode that is stress")
    max_stage_evals: int = Field(4, ge=0, description="Promote anyway after this many evaluations (0 = never)")
    stages: list[CurriculumStage] = Field(
        default_factory=lambda: [
            CurriculumStage(name="calm", mix={"calm_bull": 0.7, "mixed": 0.3}, promote_at_excess_sharpe=-0.1),
            CurriculumStage(
                name="mixed", mix={"calm_bull": 0.2, "mixed": 0.6, "stress": 0.2}, promote_at_excess_sharpe=0.0
            ),
            CurriculumStage(name="stress", mix={"mixed": 0.5, "stress": 0.5}),
        ],
        min_length=1,
    )
    stress_windows: list[StressWindow] = Field(
        default_factory=lambda: [
            StressWindow(name="china_devaluation", start=dt.date(2015, 8, 10), end=dt.date(2016, 2, 29)),
            StressWindow(name="ilfs_default", start=dt.date(2018, 9, 1), end=dt.date(2018, 12, 31)),
            StressWindow(name="covid_crash", start=dt.date(2020, 2, 20), end=dt.date(2020, 5, 29)),
            StressWindow(name="rbi_rate_hikes", start=dt.date(2022, 5, 4), end=dt.date(2023, 2, 8)),
        ]
    )


class RlConfig(_Model):
    """Phases 3-5: macro PPO, micro TD3 + HER, alternating fine-tuning (see docs/rl.md)."""

    algo: Literal["ppo", "recurrent_ppo"] = "ppo"
    macro_timesteps: int = Field(8192, ge=1, description="Phase 3 macro (weekly) steps")
    macro_learning_rate: float = Field(1e-4, gt=0)
    macro_n_steps: int = Field(256, ge=2)
    macro_batch_size: int = Field(64, ge=2)
    macro_n_epochs: int = Field(5, ge=1)
    macro_gamma: float = Field(0.9, gt=0, le=1)
    macro_clip_range: float = Field(0.1, gt=0)
    macro_log_std_init: float = Field(-1.5, description="Initial log std of the macro action noise")
    macro_tilt_init: float = Field(
        0.5, ge=0, le=1, description="PPO starts from the Phase 1 sector logits times this (shrunk pretrained tilts)"
    )
    micro_timesteps: int = Field(
        20000, ge=1, description="Phase 4 micro environment steps (decisions; each holds rl.micro_rebalance_days)"
    )
    micro_learning_rate: float = Field(1e-5, gt=0)
    micro_batch_size: int = Field(128, ge=1)
    micro_buffer_size: int = Field(100_000, ge=100)
    micro_learning_starts: int = Field(500, ge=0)
    micro_train_freq: int = Field(4, ge=1)
    micro_gamma: float = Field(0.9, gt=0, le=1)
    micro_action_noise: float = Field(0.1, ge=0, description="Std of the Gaussian exploration noise on logits")
    micro_actor_warmup_steps: int = Field(
        1000, ge=0, description="Steps during which only the critics learn (the pretrained actor is held)"
    )
    micro_her: bool = Field(
        False,
        description="Phase 4/5 relabel micro goals with HER (off by default: no validation gain in the ablation, "
        "docs/rl.md)",
    )
    her_n_sampled_goal: int = Field(4, ge=1)
    micro_goal_matching: bool = Field(
        True, description="Inside the hierarchy, rescale the micro allocation so each sector holds its macro weight"
    )
    micro_rebalance_days: int = Field(5, ge=1, description="The frozen micro layer trades every this many sessions")
    normalize_reward: bool = Field(True, description="VecNormalize reward scaling for PPO (statistics saved)")
    eval_every_steps: int = Field(512, ge=1, description="Macro steps between validation evaluations")
    micro_eval_every_steps: int = Field(5000, ge=1, description="Micro steps between validation evaluations")
    phase5_rounds: int = Field(3, ge=1)
    phase5_macro_timesteps: int = Field(2048, ge=1)
    phase5_micro_timesteps: int = Field(5000, ge=1)
    patience: int = Field(2, ge=1, description="Phase 5 rounds without a validation-Sharpe gain before stopping")
    output_dir: str = Field("artifacts/rl", description="SB3 zips and normalisation statistics (repo-relative)")
    curriculum: CurriculumConfig = CurriculumConfig()


class Config(_Model):
    profile: str = "default"
    seed: int = 42
    warehouse: str = "warehouse/hrl_sarp.duckdb"
    data: DataConfig = DataConfig()
    features: FeatureConfig = FeatureConfig()
    splits: SplitConfig = SplitConfig()
    gnn: GnnConfig = GnnConfig()
    costs: CostConfig = CostConfig()
    risk: RiskConfig = RiskConfig()
    rewards: RewardConfig = RewardConfig()
    tracking: TrackingConfig = TrackingConfig()
    env: EnvConfig = EnvConfig()
    pretrain: PretrainConfig = PretrainConfig()
    backtest: BacktestConfig = BacktestConfig()
    rebalance: RebalanceConfig = RebalanceConfig()
    rl: RlConfig = RlConfig()

    def warehouse_path(self) -> Path:
        """Absolute warehouse path; relative paths are taken from the output root (:func:`output_path`)."""
        return output_path(self.warehouse)

    def config_hash(self) -> str:
        """Stable short hash of the resolved configuration."""
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]

    def flat(self) -> dict[str, Any]:
        """The configuration flattened to dotted keys (for MLflow params)."""
        return flatten(self.model_dump(mode="json"))


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    try:
        content = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(content, dict):
        raise ConfigError(f"{path}: top level must be a mapping of keys")
    return content


def _dotted_to_tree(overrides: dict[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for dotted, value in overrides.items():
        node = tree
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def validate_config(raw: dict[str, Any], origin: str = "config") -> Config:
    """Validate a raw mapping; errors name the dotted key and the problem."""
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "<root>"
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{key}: {msg}")
        raise ConfigError(f"{origin}: " + "; ".join(problems)) from None


def available_profiles() -> list[str]:
    """The profiles in ``config/`` (every ``NAME.yaml`` but ``default.yaml``), sorted."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml") if p.stem != "default")


def load_config(
    profile: str = "demo",
    path: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> Config:
    """Load ``default.yaml`` + profile (or an explicit file) + dotted overrides, then validate.

    ``HRL_SARP_WAREHOUSE`` overrides the warehouse path unless an explicit override sets it.
    """
    raw = _read_yaml(CONFIG_DIR / "default.yaml")
    origin = "default.yaml"
    if path is not None:
        raw = deep_merge(raw, _read_yaml(Path(path)))
        origin = str(path)
    else:
        profile_file = CONFIG_DIR / f"{profile}.yaml"
        if not profile_file.exists():
            raise ConfigError(f"unknown profile '{profile}' (known: {', '.join(available_profiles())})")
        raw = deep_merge(raw, _read_yaml(profile_file))
        origin = profile_file.name
    env_warehouse = os.environ.get(WAREHOUSE_ENV)
    if env_warehouse:
        raw["warehouse"] = env_warehouse
    if overrides:
        raw = deep_merge(raw, _dotted_to_tree({k: v for k, v in overrides.items() if v is not None}))
    return validate_config(raw, origin)
