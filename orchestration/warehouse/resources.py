"""The dbt project and the warehouse files: where dbt builds, where analysts read.

The code location loads the dbt models from dbt's manifest; the command line writes it
(`prepare_manifest`, a `dbt parse` only when a dbt file changed) before it loads the
definitions, so importing the definitions never runs dbt.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from base.settings import Settings


@dataclass(frozen=True)
class Warehouse:
    """dbt's private build database, the published marts file, and the lake dbt reads."""

    build_path: Path
    marts_path: Path
    lake_root: str
    properties_file: Path
    attendance_grace_minutes: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> "Warehouse":
        return cls(settings.dbt_build_path, settings.marts_path, settings.lake_root,
                   settings.properties_file, settings.attendance_grace_minutes)

    def dbt_env(self) -> dict[str, str]:
        """What dbt reads: the lake (profiles.yml), the file it builds, the property master
        (the staging models of the properties), the attendance grace period (a var)."""
        return {"INNSIGHT_LAKE_ROOT": self.lake_root, "INNSIGHT_DBT_BUILD_PATH": str(self.build_path),
                "INNSIGHT_PROPERTIES_FILE": str(self.properties_file),
                "INNSIGHT_ATTENDANCE_GRACE_MINUTES": str(self.attendance_grace_minutes)}


def dbt_project(settings: Settings) -> DbtProject:
    return DbtProject(project_dir=settings.dbt_project_dir, profiles_dir=settings.dbt_project_dir,
                      target="embedded")


def dbt_resource(settings: Settings) -> DbtCliResource:
    # The dbt next to this interpreter: the venv's, whatever PATH says.
    return DbtCliResource(project_dir=dbt_project(settings),
                          dbt_executable=str(Path(sys.executable).parent / "dbt"))


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


def prepare_manifest(settings: Settings) -> Path:
    """Write target/manifest.json (dbt parse) so the code location can load the models.

    What dagster-dbt's own preparer does, but with the venv's dbt (PATH may not have it),
    and only when a dbt file changed since the last parse.
    """
    project = dbt_project(settings)
    if not manifest_is_current(project):
        warehouse = Warehouse.from_settings(settings)
        # dbt reads its profile's paths from the environment of the process it runs in
        os.environ.update(warehouse.dbt_env())
        dbt_resource(settings).cli(["parse", "--quiet"], target_path=project.target_path,
                                   manifest={}).wait()
    return Path(project.manifest_path)
