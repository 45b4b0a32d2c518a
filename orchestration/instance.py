"""The Dagster instance of the chosen profile: SQLite under var/dagster, or PostgreSQL."""

from __future__ import annotations

import os

import yaml

from base.files import atomic_write
from base.settings import Settings


def instance_config(settings: Settings) -> dict:
    config: dict = {"telemetry": {"enabled": False}}
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
