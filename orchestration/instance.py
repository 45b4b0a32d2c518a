"""The Dagster instance of the chosen profile (SQLite under var/dagster, or PostgreSQL), and
the command line's runs recorded in it as runs of the code location."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import dagster as dg
import yaml
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.definitions.repository_definition.valid_definitions import SINGLETON_REPOSITORY_NAME
from dagster._core.execution.api import execute_run
from dagster._core.execution.job_execution_result import JobExecutionResult
from dagster._core.remote_origin import RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.workspace.load import location_origins_from_yaml_paths

from base.files import atomic_write
from base.settings import Settings


def instance_config(settings: Settings) -> dict:
    # No telemetry, and no "join the community" pop-up asking an offline back office for an email
    config: dict = {"telemetry": {"enabled": False}, "nux": {"enabled": False}}
    if settings.profile == "production":
        config["storage"] = {"postgres": {"postgres_url": settings.postgres_url}}
    return config


def prepare_dagster_home(settings: Settings) -> str:
    """Write dagster.yaml for the profile and point DAGSTER_HOME at it (for this process and
    the servers it starts: Dagster finds its instance through that variable)."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    text = yaml.safe_dump(instance_config(settings), sort_keys=False)
    if not target.exists() or target.read_text() != text:
        atomic_write(target, text)
    os.environ["DAGSTER_HOME"] = str(home)
    return str(home)


def code_location_job(workspace: Path, job_name: str) -> RemoteJobOrigin:
    """A job as the UI knows it: in the one code location of ``workspace`` (workspace.yaml)."""
    [location] = location_origins_from_yaml_paths([str(workspace)])
    return RemoteRepositoryOrigin(location, SINGLETON_REPOSITORY_NAME).get_job_origin(job_name)


def execute_as_code_location_run(job: dg.JobDefinition, instance: dg.DagsterInstance, run_id: str,
                                 tags: Mapping[str, str], workspace: Path) -> JobExecutionResult:
    """Run ``job`` in this process, as ``execute_in_process`` does, recorded as a run of the
    code location the UI serves.

    ``execute_in_process`` records a run without an origin: the UI's Overview timeline skips
    such a run (it groups runs by their code location, useRunsForTimeline.tsx), and the
    code-location filter of the runs list (the ``.dagster/repository`` tag, written from the
    origin) cannot find it. Here the run is created with the job's origin, then executed.
    """
    local = job.as_ephemeral_job(resource_defs={}, input_values={})  # in-process, as execute_in_process
    run = instance.create_run_for_job(local, run_id=run_id, tags={**job.run_tags, **tags},
                                      remote_job_origin=code_location_job(workspace, job.name))
    return execute_run(InMemoryJob(local), run, instance)
