"""The contracts depend on the vocabulary alone: schemas/ imports nothing of hrl_sarp but hrl_sarp.domain, and the
vocabulary itself imports nothing of the project but the base error."""

from __future__ import annotations

import ast

from hrl_sarp.config import REPO_ROOT


def project_imports(path) -> set[str]:
    """Modules of hrl_sarp imported anywhere in the file (module level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "hrl_sarp":
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "hrl_sarp"}
    return found


def test_schemas_import_only_the_vocabulary():
    files = sorted((REPO_ROOT / "schemas").glob("*.py"))
    assert len(files) >= 4
    for path in files:
        assert project_imports(path) <= {"hrl_sarp.domain"}, path.name


def test_the_vocabulary_imports_only_the_base_error():
    assert project_imports(REPO_ROOT / "hrl_sarp" / "domain.py") == {"hrl_sarp.errors"}
    errors = REPO_ROOT / "hrl_sarp" / "errors.py"
    assert project_imports(errors) == set()
