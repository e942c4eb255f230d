"""The trained system as a registered MLflow pyfunc model, with ``champion`` / ``challenger`` aliases.

Load it anywhere::

    import mlflow, pandas as pd
    model = mlflow.pyfunc.load_model("models:/hrl-sarp@champion")
    weights = model.predict(pd.DataFrame({"date": ["2024-06-28"]}))   # one row per date: symbols..., cash

``predict`` takes a DataFrame with a ``date`` column and optional ``warehouse`` (DuckDB file; default
``HRL_SARP_WAREHOUSE``, else the path in the model's config) and ``build_id`` columns (default: the latest complete
feature build). For each date it uses the last session on or before it and returns the target weights of
:meth:`hrl_sarp.system.TrainedSystem.target_weights` — the same function the backtest and the rebalance call.

Aliases (MLflow 3 has no stages): a newly registered version becomes ``champion`` only when its validation Sharpe
beats the current champion's — both measured on the new version's validation rows when the champion fits the same
feature build, else against the champion's recorded ``val_sharpe`` tag; otherwise it becomes ``challenger``. A
champion this code cannot load at all is replaced (it could not serve a rebalance).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hrl_sarp.domain import CASH

try:  # mlflow is a dependency, but keep the library importable for pure-numpy users of the module's helpers
    from mlflow.pyfunc import PythonModel
except ImportError:  # pragma: no cover
    PythonModel = object  # type: ignore[assignment,misc]

MODEL_NAME = "hrl-sarp"
CHAMPION = "champion"
CHALLENGER = "challenger"
ARTIFACT_NAME = "system"
LOGGED_MODEL_NAME = "hrl_sarp_system"
FINGERPRINT_TAG = "system_fingerprint"
# SB3 zip members that change between two saves of the same networks (wall-clock start time, host details).
_VOLATILE_ZIP_MEMBERS = frozenset({"data", "system_info.txt"})


def rows_for_dates(dates: np.ndarray, asked: pd.Series) -> np.ndarray:
    """(K,) row of the last session on or before each asked date; ``dates`` (T,) ascending datetime64."""
    days = np.asarray(dates).astype("datetime64[D]")
    wanted = pd.to_datetime(asked).to_numpy().astype("datetime64[D]")
    rows = np.searchsorted(days, wanted, side="right") - 1
    if (rows < 0).any():
        first = pd.Timestamp(wanted[rows < 0][0]).date()
        from hrl_sarp.errors import InputError

        raise InputError(f"date {first} is before the first session of the feature build ({days[0]})")
    return rows


def weights_frame(symbols: np.ndarray, dates: list[Any], as_of: list[Any], weights: np.ndarray) -> pd.DataFrame:
    """Wide frame: ``date`` (asked), ``as_of`` (session used), one column per symbol, ``cash`` = 1 - invested."""
    frame = pd.DataFrame(weights, columns=[str(s) for s in symbols])
    frame[CASH] = 1.0 - weights.sum(axis=1)
    frame.insert(0, "as_of", pd.to_datetime(as_of))
    frame.insert(0, "date", pd.to_datetime(dates))
    return frame


@contextlib.contextmanager
def _quiet_model_logging() -> Iterator[None]:
    """Silence MLflow's advisory on pickling a Python model object: the class is this package's own code, imported
    by reference when the model loads, which is what we want."""
    pyfunc_logger = logging.getLogger("mlflow.pyfunc")
    level = pyfunc_logger.level
    pyfunc_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        pyfunc_logger.setLevel(level)


class HrlSarpModel(PythonModel):
    """MLflow pyfunc wrapper of :class:`hrl_sarp.system.TrainedSystem` (artifact ``system`` = the system folder)."""

    def load_context(self, context: Any) -> None:
        from hrl_sarp.system import TrainedSystem

        self.system = TrainedSystem(context.artifacts[ARTIFACT_NAME])
        self._inputs: dict[tuple[str, str | None], Any] = {}

    def _warehouse(self, value: Any) -> str:
        if isinstance(value, str) and value:
            return value
        return os.environ.get("HRL_SARP_WAREHOUSE") or str(self.system.cfg.warehouse_path())

    def _load(self, warehouse: str, build_id: str | None) -> Any:
        from hrl_sarp.system import load_system_inputs

        key = (warehouse, build_id)
        if key not in self._inputs:
            self._inputs = {key: load_system_inputs(warehouse, build_id)}
        return self._inputs[key]

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        frame = pd.DataFrame(model_input)
        if "date" not in frame.columns:
            from hrl_sarp.errors import InputError

            raise InputError("model input needs a 'date' column (YYYY-MM-DD)")
        out = []
        warehouses = frame["warehouse"] if "warehouse" in frame.columns else pd.Series([None] * len(frame))
        builds = frame["build_id"] if "build_id" in frame.columns else pd.Series([None] * len(frame))
        for i in range(len(frame)):
            build = builds.iloc[i] if isinstance(builds.iloc[i], str) and builds.iloc[i] else None
            arrays, embeddings, _ = self._load(self._warehouse(warehouses.iloc[i]), build)
            row = int(rows_for_dates(arrays.dates, frame["date"].iloc[i : i + 1])[0])
            weights = self.system.target_weights(arrays, embeddings, row)
            out.append(weights_frame(arrays.symbols, [frame["date"].iloc[i]], [arrays.dates[row]], weights[None]))
        return pd.concat(out, ignore_index=True)


def system_fingerprint(folder: str | Path) -> str:
    """Content hash of a system folder that two saves of the same networks, config and metadata share: SB3 zips are
    hashed member by member, leaving out the members that record when and where they were saved."""
    root = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode())
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                for member in sorted(set(archive.namelist()) - _VOLATILE_ZIP_MEMBERS):
                    digest.update(member.encode())
                    digest.update(archive.read(member))
        elif path.suffix == ".pt":  # a Phase 1/2 checkpoint: its networks, not its run metadata
            digest.update(_checkpoint_content(path))
        else:
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _checkpoint_content(path: Path) -> bytes:
    """The kind, constructor kwargs and tensors of a Phase 1/2 checkpoint, as bytes (its ``meta`` names the run
    that wrote it, which differs between two trainings of the same networks)."""
    from hrl_sarp.policies.checkpoint import read_checkpoint

    payload = read_checkpoint(path)
    parts = [str(payload.get("kind")).encode(), repr(sorted(payload.get("kwargs", {}).items())).encode()]
    for name, tensor in sorted(payload.get("state_dict", {}).items()):
        parts += [name.encode(), tensor.detach().cpu().contiguous().numpy().tobytes()]
    return b"".join(parts)


def _same_version(name: str, fingerprint: str, score: float) -> Any:
    """The registered version of ``name`` holding this exact system with this exact score, or None."""
    from mlflow.exceptions import MlflowException

    try:
        versions = _client().search_model_versions(f"name = '{name}'")
    except MlflowException:
        return None
    for version in versions:
        tags = version.tags or {}
        if tags.get(FINGERPRINT_TAG) == fingerprint and tags.get("val_sharpe") == repr(float(score)):
            return version
    return None


@dataclass(frozen=True)
class Registration:
    """Outcome of :func:`register_system`."""

    name: str
    version: str
    alias: str  # champion | challenger
    val_sharpe: float
    previous_champion: str | None
    champion_val_sharpe: float | None  # the previous champion's score it was compared with
    model_uri: str  # models:/<name>/<version>
    run_id: str | None
    unchanged: bool = False  # the same system and score were already registered: no new version was made

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _client() -> Any:
    from mlflow import MlflowClient

    return MlflowClient()


def current_champion(name: str = MODEL_NAME) -> Any:
    """The model version holding the ``champion`` alias, or None."""
    from mlflow.exceptions import MlflowException

    try:
        return _client().get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def validation_sharpe(system: Any, arrays: Any, embeddings: np.ndarray, val_range: tuple[int, int]) -> float:
    """Sharpe of one deterministic hierarchy rollout over ``val_range`` rows (the RL stages' validation metric)."""
    from hrl_sarp.envs.simulator import MarketArrays
    from hrl_sarp.rl.evaluation import SystemEvaluator
    from hrl_sarp.rl.layers import PolicyMicroLayer
    from hrl_sarp.threads import single_thread

    system.check_compatible(arrays, embeddings)
    market = MarketArrays.from_features(arrays, system.cfg.risk)
    evaluator = SystemEvaluator(arrays, system.cfg, embeddings, val_range, market)
    with single_thread():
        return float(
            evaluator.sharpe(system.macro_actor, PolicyMicroLayer(system.micro_actor, arrays, market, system.cfg))
        )


def val_rows(system: Any, arrays: Any) -> tuple[int, int]:
    """(first, last) rows of ``arrays`` inside the system's validation dates."""
    days = np.asarray(arrays.dates).astype("datetime64[D]")
    first = int(np.searchsorted(days, np.datetime64(system.meta["val_first_date"], "D"), side="left"))
    last = int(np.searchsorted(days, np.datetime64(system.meta["val_last_date"], "D"), side="right")) - 1
    return first, last


def _champion_score(champion: Any, new_system: Any, inputs: tuple[Any, np.ndarray] | None) -> float | None:
    """The champion's validation Sharpe on the new system's validation rows when it fits the same build, else its
    recorded ``val_sharpe`` tag (None when it has neither). With ``inputs``, a champion this code cannot load at
    all (its networks written by an older version: torch and SB3 refuse the state dict; or its files are gone)
    scores None: it could not serve a rebalance, so the new system replaces it."""
    if inputs is not None:
        import mlflow
        from mlflow.exceptions import MlflowException

        from hrl_sarp.errors import HrlSarpError

        try:
            model = mlflow.pyfunc.load_model(f"models:/{champion.name}/{champion.version}")
            system = model.unwrap_python_model().system
        except (OSError, MlflowException, RuntimeError, ValueError, KeyError) as exc:
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            logging.getLogger(__name__).warning(
                "champion v%s cannot be loaded by this code (%s): the new version replaces it", champion.version, reason
            )
            return None
        arrays, embeddings = inputs
        try:
            return validation_sharpe(system, arrays, embeddings, val_rows(new_system, arrays))
        except HrlSarpError:  # it does not fit this feature build: compare with what it recorded on its own
            pass
    tag = (champion.tags or {}).get("val_sharpe")
    return None if tag in (None, "", "None") else float(tag)


def register_system(
    folder: str | Path,
    name: str = MODEL_NAME,
    inputs: tuple[Any, np.ndarray] | None = None,
    tags: dict[str, str] | None = None,
) -> Registration:
    """Log the system folder as a pyfunc model in the active MLflow run, register it as ``name`` and set its alias.

    ``inputs``: ``(arrays, embeddings (W, S, D))`` of the feature build, to score the new system and the current
    champion on the same validation rows; without them the recorded ``val_sharpe`` of the system folder is used.
    """
    import mlflow

    from hrl_sarp.system import TrainedSystem

    system = TrainedSystem(folder)
    if inputs is not None:
        score = validation_sharpe(system, inputs[0], inputs[1], val_rows(system, inputs[0]))
    elif system.val_sharpe is not None:
        score = system.val_sharpe
    else:
        from hrl_sarp.errors import HrlSarpError

        raise HrlSarpError(f"{folder}: no validation Sharpe recorded and no inputs to compute it")
    fingerprint = system_fingerprint(folder)
    existing = _same_version(name, fingerprint, score)
    champion = current_champion(name)
    if existing is not None and champion is not None and str(champion.version) == str(existing.version):
        champion, champion_score = None, None  # it is the champion already: nothing to compare with
        previous = str(existing.version)
    else:
        champion_score = _champion_score(champion, system, inputs) if champion is not None else None
        previous = None if champion is None else str(champion.version)
    client = _client()
    if existing is not None:  # a forced re-run of the same training: the same version, its alias re-decided
        logging.getLogger(__name__).info(
            "%s v%s already holds this system with validation Sharpe %.4f: no new version",
            name,
            existing.version,
            score,
        )
        version = str(existing.version)
    else:
        with _quiet_model_logging():
            info = mlflow.pyfunc.log_model(
                name=LOGGED_MODEL_NAME,
                python_model=HrlSarpModel(),
                artifacts={ARTIFACT_NAME: str(folder)},
                registered_model_name=name,
                pip_requirements=["hrl-sarp"],
            )
        version = str(info.registered_model_version)
        version_tags = {
            "val_sharpe": repr(float(score)),
            "build_id": str(system.meta.get("build_id")),
            "system_kind": system.kind,
            "config_hash": str(system.meta.get("config_hash")),
            "gnn_model_version": str(system.meta.get("gnn_model_version")),
            FINGERPRINT_TAG: fingerprint,
            **(tags or {}),
        }
        if champion is not None:
            version_tags["compared_with_champion"] = f"v{champion.version}: {champion_score!r}"
        for key, value in version_tags.items():
            client.set_model_version_tag(name, version, key, value)
    wins = champion is None or champion_score is None or score > champion_score
    alias = CHAMPION if wins else CHALLENGER
    client.set_registered_model_alias(name, alias, version)
    active = mlflow.active_run()
    return Registration(
        name=name,
        version=version,
        alias=alias,
        val_sharpe=float(score),
        previous_champion=previous,
        champion_val_sharpe=champion_score,
        model_uri=f"models:/{name}/{version}",
        run_id=None if active is None else active.info.run_id,
        unchanged=existing is not None,
    )


def load_champion(name: str = MODEL_NAME, alias: str = CHAMPION) -> Any:
    """``(pyfunc model, model version)`` for ``models:/<name>@<alias>``; a one-line error when none exists."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from hrl_sarp.errors import WarehouseStateError

    try:
        version = _client().get_model_version_by_alias(name, alias)
    except MlflowException:
        raise WarehouseStateError(
            f"no registered model '{name}@{alias}' in the MLflow store: run `hrl-sarp train` and `hrl-sarp backtest` "
            "(or `make demo`) first"
        ) from None
    return mlflow.pyfunc.load_model(f"models:/{name}@{alias}"), version
