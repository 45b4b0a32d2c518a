"""The Dagster instance of the chosen profile: SQLite under var/dagster, or PostgreSQL."""

from __future__ import annotations

import os

import yaml

from base.settings import Settings, get_settings


def instance_config(settings: Settings) -> dict:
    config: dict = {"telemetry": {"enabled": False}}
    if settings.profile == "production":
        config["storage"] = {"postgres": {"postgres_url": settings.postgres_url}}
    return config


def prepare_dagster_home(settings: Settings | None = None) -> str:
    """Write dagster.yaml for the profile and point DAGSTER_HOME at it."""
    settings = settings or get_settings()
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    text = yaml.safe_dump(instance_config(settings), sort_keys=False)
    if not target.exists() or target.read_text() != text:
        tmp = target.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, target)
    os.environ["DAGSTER_HOME"] = str(home)
    return str(home)
