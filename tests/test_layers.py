"""The layering the imports obey (docs/architecture.md), checked on every module's source:

1. a package imports only the packages below it (every import, lazy ones included);
2. the domain packages import neither Dagster nor the web stack;
3. only the entry points build a Settings (the command line, the API's create_app, the
   Dagster code location); everything below them is handed narrow objects;
4. no two modules share a name, except Dagster's per-domain names and ``__init__``;
5. no test points the process's environment at a home (tests pass a Settings);
6. no calendar date and no property name of the bundled data in the code that learns and
   orchestrates (``lake``, ``features``, ``ml``, ``orchestration``): the data says which
   properties there are and where their calendar runs.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

from base.settings import REPO_ROOT

DOMAIN = {"base", "lake", "features", "ml", "vision", "language", "operations", "reports"}
# package -> the packages it may import (besides itself)
MAY_IMPORT: dict[str, set[str]] = {
    "base": set(),
    "lake": {"base"},
    "features": {"base", "lake"},
    "ml": {"base", "lake", "features"},
    "vision": {"base", "lake", "features"},
    "language": {"base", "lake", "features", "ml", "vision"},  # the assistant's tools use models
    # workflows' decisions, the outbox and its senders, the event bus
    "operations": {"base", "lake", "features", "ml", "vision", "language"},
    # the general manager's reports: figures of the marts and models, who receives them
    "reports": {"base", "lake", "features", "ml", "operations"},
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


DATE = re.compile(r"\b(19|20)\d\d-[01]\d-[0-3]\d\b")
EPOCH = 1970  # the Unix epoch is arithmetic, not a day of the data
LEARNS = ("lake/", "features/", "ml/", "orchestration/")
# the synthetic generator names its calibration templates by kind, never by property
NOT_DATA_CODE = ("lake/synthetic/names.py",)


def data_literals(tree: ast.Module, names: set[str]) -> list[str]:
    """Calendar dates (text or a date(...) call with a literal year) and property names in a
    module, docstrings and comments aside."""
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if DATE.search(node.value.replace(f"{EPOCH}-01-01", "")) or node.value in names:
                found.append(repr(node.value)[:60])
        elif (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None))
              in ("date", "datetime", "Timestamp") and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, int)
              and node.args[0].value > 1900 and node.args[0].value != EPOCH):
            found.append(f"line {node.lineno}: {ast.unparse(node)[:60]}")
    return found


def test_no_calendar_date_or_property_name_in_the_code_that_learns():
    import yaml

    master = yaml.safe_load((REPO_ROOT / "lake" / "reference" / "properties.yaml").read_text())
    names = {p["name"] for p in master["properties"]} | {p["code"] for p in master["properties"]}
    found = {path: hits for path, tree in modules().items()
             if path.startswith(LEARNS) and path not in NOT_DATA_CODE
             and (hits := data_literals(tree, names))}
    assert found == {}, f"dates or property names in code (they belong to the data): {found}"


def test_the_rules_catch_a_violation(tmp_path):
    """The checks above can fail: a lake module importing ml and dagster is caught."""
    tree = ast.parse("import dagster\nfrom ml.catalog import MODELS\n")
    assert imported(tree) & set(MAY_IMPORT) - MAY_IMPORT["lake"] == {"ml"}
    assert imported(tree) & FRAMEWORKS == {"dagster"}
    # and a split on a fixed day or a property named in code
    code = ast.parse('"""Split on 2017-01-01 (a docstring may say so)."""\n'
                     'TEST_START = "2017-01-01"\nstart = date(2016, 1, 1)\nHOTELS = ("City Hotel",)\n'
                     'EPOCH = datetime(1970, 1, 1)\n')
    assert len(data_literals(code, {"City Hotel"})) == 3
