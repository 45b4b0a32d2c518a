"""The layering the imports obey (docs/architecture.md), checked on every module's source:

1. a package imports only the packages below it (every import, lazy ones included);
2. the domain packages import neither Dagster nor the web stack;
3. only the entry points build a Settings (the command line, the API's create_app, the
   Dagster code location); everything below them is handed narrow objects;
4. no two modules share a name, except Dagster's per-domain names and ``__init__``;
5. no test points the process's environment at a home (tests pass a Settings).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from base.settings import REPO_ROOT

DOMAIN = {"base", "lake", "features", "ml", "vision", "language"}
# package -> the packages it may import (besides itself)
MAY_IMPORT: dict[str, set[str]] = {
    "base": set(),
    "lake": {"base"},
    "features": {"base", "lake"},
    "ml": {"base", "lake", "features"},
    "vision": {"base", "lake", "features"},
    "language": {"base", "lake", "features", "ml", "vision"},  # the assistant's tools use models
    "orchestration": DOMAIN,
    "serving": DOMAIN,
    "innsight": DOMAIN | {"orchestration", "serving"},
}
FRAMEWORKS = {"dagster", "dagster_dbt", "dagster_graphql", "fastapi", "starlette", "uvicorn"}
ENTRY_POINTS = {"innsight/cli.py", "serving/app.py", "orchestration/definitions.py"}
# Dagster's reference layout repeats these in every domain folder, on purpose.
CONVENTIONAL = {"__init__", "assets", "jobs", "schedules", "sensors", "checks", "resources",
                "definitions"}


def modules() -> dict[str, ast.Module]:
    return {str(path.relative_to(REPO_ROOT)): ast.parse(path.read_text(), str(path))
            for package in MAY_IMPORT for path in sorted((REPO_ROOT / package).rglob("*.py"))}


def imported(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_packages_import_only_the_layers_below_them():
    wrong = {path: sorted(bad) for path, tree in modules().items()
             if (bad := (imported(tree) & set(MAY_IMPORT)) - MAY_IMPORT[path.split("/")[0]]
                 - {path.split("/")[0]})}
    assert wrong == {}, f"imports against the layering: {wrong}"


def test_domain_packages_import_neither_dagster_nor_the_web_stack():
    wrong = {path: sorted(imported(tree) & FRAMEWORKS) for path, tree in modules().items()
             if path.split("/")[0] in DOMAIN and imported(tree) & FRAMEWORKS}
    assert wrong == {}


def test_only_the_entry_points_build_settings():
    builders = {path for path, tree in modules().items()
                for node in ast.walk(tree)
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Settings"}
    assert builders <= ENTRY_POINTS, f"Settings() outside the entry points: {builders - ENTRY_POINTS}"
    assert "get_settings" not in (REPO_ROOT / "base" / "settings.py").read_text()


def test_module_names_are_unique():
    seen: dict[str, list[str]] = defaultdict(list)
    for path in modules():
        seen[Path(path).stem].append(path)
    shared = {name: paths for name, paths in seen.items()
              if len(paths) > 1 and name not in CONVENTIONAL}
    assert shared == {}, f"modules a newcomer must tell apart by their folder: {shared}"


def test_no_test_points_the_environment_at_a_home():
    offending = []
    for path in sorted((REPO_ROOT / "tests").rglob("*.py")):
        text = path.read_text()
        if path.name != "test_layers.py" and any(
                s in text for s in ("cache_clear", 'setenv("INNSIGHT_', 'os.environ["INNSIGHT_')):
            offending.append(str(path.relative_to(REPO_ROOT)))
    assert offending == []


def test_the_rules_catch_a_violation(tmp_path):
    """The checks above can fail: a lake module importing ml and dagster is caught."""
    tree = ast.parse("import dagster\nfrom ml.catalog import MODELS\n")
    assert imported(tree) & set(MAY_IMPORT) - MAY_IMPORT["lake"] == {"ml"}
    assert imported(tree) & FRAMEWORKS == {"dagster"}
