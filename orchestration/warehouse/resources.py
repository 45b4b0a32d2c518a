"""The dbt project, its profile's environment, and the manifest dagster-dbt loads."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from base.settings import get_settings


def dbt_env() -> dict[str, str]:
    """What dbt_project/profiles.yml reads: where the lake is and which file dbt builds."""
    s = get_settings()
    return {"INNSIGHT_LAKE_ROOT": s.lake_root, "INNSIGHT_DBT_BUILD_PATH": str(s.dbt_build_path)}


def dbt_project() -> DbtProject:
    s = get_settings()
    return DbtProject(project_dir=s.dbt_project_dir, profiles_dir=s.dbt_project_dir,
                      target="embedded")


def dbt_resource() -> DbtCliResource:
    # The dbt next to this interpreter: the venv's, whatever PATH says.
    return DbtCliResource(project_dir=dbt_project(),
                          dbt_executable=str(Path(sys.executable).parent / "dbt"))


def use_current_settings() -> None:
    """Point the dbt profile at this process's lake and build file (read when dbt runs)."""
    os.environ.update(dbt_env())
    get_settings().dbt_build_path.parent.mkdir(parents=True, exist_ok=True)


DBT_SOURCE_FILES = ("dbt_project.yml", "profiles.yml", "models/**/*", "macros/**/*",
                    "tests/**/*", "seeds/**/*", "snapshots/**/*")


def manifest_is_current(project: DbtProject) -> bool:
    """The manifest is newer than every file of the dbt project (models, macros, config)."""
    manifest = Path(project.manifest_path)
    if not manifest.exists():
        return False
    root = Path(project.project_dir)
    newest = max(f.stat().st_mtime for pattern in DBT_SOURCE_FILES for f in root.glob(pattern)
                 if f.is_file())
    return manifest.stat().st_mtime > newest


def prepare_manifest() -> None:
    """Write target/manifest.json (dbt parse) so the code location can load the models.

    What dagster-dbt's own preparer does, but with the venv's dbt (PATH may not have it),
    and only when a dbt file changed since the last parse.
    """
    use_current_settings()
    project = dbt_project()
    if not manifest_is_current(project):
        dbt_resource().cli(["parse", "--quiet"], target_path=project.target_path, manifest={}).wait()
