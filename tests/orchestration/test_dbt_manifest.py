"""dbt parse runs only when a file of the dbt project changed since the last manifest."""

import os
import shutil
import time

from dagster_dbt import DbtProject

from base.settings import Settings
from orchestration.warehouse.resources import manifest_is_current


def test_manifest_is_stale_until_written_and_again_after_a_model_changes(tmp_path):
    root = tmp_path / "dbt_project"
    shutil.copytree(Settings().dbt_project_dir, root, ignore=shutil.ignore_patterns("target", "logs"))
    project = DbtProject(project_dir=root, profiles_dir=root, target="embedded")
    assert not manifest_is_current(project)  # never parsed

    manifest = root / "target" / "manifest.json"
    manifest.parent.mkdir()
    manifest.write_text("{}")
    assert manifest_is_current(project)

    model = next((root / "models" / "marts").glob("*.sql"))
    later = time.time() + 5
    os.utime(model, (later, later))
    assert not manifest_is_current(project)
