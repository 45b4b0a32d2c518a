"""The group's hotels as the API names them: by code ("RH") or name ("Resort Hotel")."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from lake.properties import load_properties


@dataclass(frozen=True)
class Hotel:
    code: str
    name: str
    currency: str | None
    room_types: tuple[str, ...]


@lru_cache
def hotels() -> tuple[Hotel, ...]:
    return tuple(Hotel(p["code"], p["name"], p.get("currency"), tuple(p.get("room_types") or ()))
                 for p in load_properties())


def find_hotel(value: str) -> Hotel | None:
    """A hotel by code or name, case-insensitive."""
    wanted = value.strip().lower()
    return next((h for h in hotels() if wanted in (h.code.lower(), h.name.lower())), None)


def known_hotels() -> str:
    return ", ".join(f"{h.code} ({h.name})" for h in hotels())
