"""The group's property master (lake/reference/properties.yaml)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from innsight.settings import get_settings


@lru_cache
def load_properties(path: Path | None = None) -> list[dict]:
    path = path or get_settings().properties_file
    return yaml.safe_load(Path(path).read_text())["properties"]


def hotel_names() -> list[str]:
    return [p["name"] for p in load_properties()]


def hotel_codes() -> dict[str, str]:
    return {p["name"]: p["code"] for p in load_properties()}
