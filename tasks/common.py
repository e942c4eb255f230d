"""Shared task helpers: the cross-run cache policy, where persisted results live, and code hashes.

Prefect's default cache policy only hits within one flow run. Cross-run caching needs ``INPUTS + TASK_SOURCE`` (in
that order) and persisted results; inputs that cannot be hashed (DataFrames, connections) break it, so cached tasks
take plain strings: paths, ids, the data snapshot hash, the config hash and a code hash.

Usage::

    @task(**cached_task_options())
    def build(snapshot: str, config_hash: str, code: str, warehouse: str) -> dict: ...

    build.with_options(result_storage=results_dir(cfg))(snapshot, cfg.config_hash(), code_hash("hrl_sarp/features"), ...)
"""

from __future__ import annotations

import ast
import hashlib
import os
from functools import cache
from pathlib import Path
from typing import Any

from prefect.cache_policies import INPUTS, TASK_SOURCE, CachePolicy

from hrl_sarp.config import REPO_ROOT, Config, output_path

RESULTS_ENV = "HRL_SARP_RESULTS_DIR"
# Inputs that identify a run or where it executes rather than its content; never part of a cache key.
RUN_SCOPED_INPUTS = ("parent_run_id", "flow_run_id", "dask_address")
_CODE_SUFFIXES = (".py", ".sql", ".yaml")
# Project packages whose modules key a stage's cache when the stage's flow imports them (at any depth, lazily too).
PROJECT_PACKAGES = ("hrl_sarp", "tasks", "flows", "schemas")
# Imported everywhere but not part of any stage's result: config values key the cache through the config hash, and
# tracking only records.
CLOSURE_EXCLUDE = ("hrl_sarp/config.py", "hrl_sarp/tracking.py")


def cross_run_cache(exclude: tuple[str, ...] = RUN_SCOPED_INPUTS) -> CachePolicy:
    """``INPUTS + TASK_SOURCE`` minus the run-scoped inputs named in ``exclude``."""
    policy: CachePolicy = INPUTS + TASK_SOURCE
    for name in exclude:
        policy = policy - name
    return policy


def results_dir(cfg: Config | None = None) -> Path:
    """Folder holding persisted task results and cache records.

    ``HRL_SARP_RESULTS_DIR`` wins; otherwise ``.prefect/results`` under the output root (the repository, git-ignored;
    :func:`hrl_sarp.config.output_path`). The config is accepted so callers can later key the folder on it without
    changing call sites.
    """
    _ = cfg
    env = os.environ.get(RESULTS_ENV)
    path = Path(env).expanduser() if env else output_path(Path(".prefect") / "results")
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def cached_task_options(exclude: tuple[str, ...] = RUN_SCOPED_INPUTS, cfg: Config | None = None) -> dict[str, Any]:
    """Keyword arguments for ``@task`` that make a task cache across runs (results persisted locally)."""
    return {
        "cache_policy": cross_run_cache(exclude),
        "persist_result": True,
        "result_storage": results_dir(cfg),
    }


def _code_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.exists():
        return []
    return sorted(p for p in path.rglob("*") if p.suffix in _CODE_SUFFIXES and "__pycache__" not in p.parts)


def code_hash(*paths: str | Path) -> str:
    """Hash of the source files under ``paths`` (files or folders, relative to the repository root).

    A change to any of them changes the hash, so a stage keyed on it re-runs after its code changes. Missing paths
    contribute their name only, so adding the file later also changes the hash.
    """
    digest = hashlib.sha256()
    for raw in sorted(str(p) for p in paths):
        root = Path(raw) if Path(raw).is_absolute() else REPO_ROOT / raw
        digest.update(f"<{raw}>".encode())
        for file in _code_files(root):
            digest.update(str(file.relative_to(REPO_ROOT) if file.is_relative_to(REPO_ROOT) else file).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def content_hash(path: str | Path) -> str:
    """Cheap fingerprint of a data file or folder: every file's relative name, size and modification time."""
    root = Path(path)
    digest = hashlib.sha256(str(root).encode())
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
    for file in files:
        stat = file.stat()
        digest.update(
            f"{file.relative_to(root) if file != root else file.name}:{stat.st_size}:{stat.st_mtime_ns};".encode()
        )
    return digest.hexdigest()[:16]


def flow_run_id() -> str | None:
    """The id of the Prefect flow run this code runs in, or None outside a flow run."""
    from prefect.runtime import flow_run

    run_id = flow_run.id
    return str(run_id) if run_id else None


def _module_file(name: str) -> Path | None:
    """``hrl_sarp.gnn.fit`` -> ``hrl_sarp/gnn/fit.py`` (or the package's ``__init__.py``) when it is project code."""
    if name.split(".")[0] not in PROJECT_PACKAGES:
        return None
    base = REPO_ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@cache
def _imports_of(file: Path) -> tuple[Path, ...]:
    """Project modules ``file`` imports anywhere (module level or inside functions), as files."""
    found: set[Path] = set()
    for node in ast.walk(ast.parse(file.read_text(), filename=str(file))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from pkg import mod" may name a submodule or an attribute: try both
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        for name in names:
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):  # parents' __init__ run on import too
                module = _module_file(".".join(parts[:depth]))
                if module is not None:
                    found.add(module)
    return tuple(sorted(found))


def import_closure(*entry_files: str | Path) -> list[str]:
    """Every project source file the ``entry_files`` import, transitively (repository-relative, sorted), minus
    :data:`CLOSURE_EXCLUDE`. Found by reading the source (``ast``), so lazy imports inside functions count."""
    seen: set[Path] = set()
    stack = [Path(f) if Path(f).is_absolute() else REPO_ROOT / f for f in entry_files]
    while stack:
        file = stack.pop()
        if file in seen or not file.is_file():
            continue
        seen.add(file)
        stack.extend(_imports_of(file))
    relative = {str(f.relative_to(REPO_ROOT)) for f in seen}
    return sorted(relative - set(CLOSURE_EXCLUDE))
