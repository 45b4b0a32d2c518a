"""The group's property master (``lake/reference/properties.yaml``) as typed records."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

REAL_HOTELS = ("Resort Hotel", "City Hotel")
# A synthetic property borrows the booking behaviour of the real hotel it resembles most:
# leisure destinations behave like the resort, the others like the city hotel.
_RESORT_WORDS = {"beach", "resort", "garden", "bay", "island", "spa"}


@dataclass(frozen=True)
class RoomType:
    code: str
    rooms: int
    base_rate: float


@dataclass(frozen=True)
class Property:
    name: str
    code: str
    city: str
    country: str
    currency: str
    real: bool
    room_types: tuple[RoomType, ...]  # ordered by base rate, cheapest first

    @property
    def total_rooms(self) -> int:
        return sum(rt.rooms for rt in self.room_types)

    @property
    def template(self) -> str:
        """The real hotel whose booking behaviour this property follows."""
        if self.name in REAL_HOTELS:
            return self.name
        words = {w.lower() for w in self.name.replace("-", " ").split()}
        return "Resort Hotel" if words & _RESORT_WORDS else "City Hotel"


BUNDLED_PROPERTIES = Path(__file__).resolve().parent.parent / "reference" / "properties.yaml"


def load_properties(path: Path = BUNDLED_PROPERTIES) -> list[Property]:
    raw = yaml.safe_load(Path(path).read_text())
    out = []
    for p in raw["properties"]:
        types = [
            RoomType(str(code), int(v["rooms"]), float(v["base_rate"]))
            for code, v in (p.get("room_types") or {}).items()
            if int(v["rooms"]) > 0
        ]
        types.sort(key=lambda rt: (rt.base_rate, rt.code))
        out.append(
            Property(
                name=str(p["name"]), code=str(p["code"]), city=str(p.get("city", "")),
                country=str(p.get("country", "")), currency=str(p.get("currency", "EUR")),
                real=bool(p.get("real", False)), room_types=tuple(types),
            )
        )
    return out


def select_properties(all_props: list[Property], names: list[str] | None) -> list[Property]:
    """The named properties (in master order), or every synthetic (``real: false``) one."""
    if names is None:
        chosen = [p for p in all_props if not p.real]
    else:
        known = {p.name for p in all_props}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"unknown properties {unknown}; known: {sorted(known)}")
        chosen = [p for p in all_props if p.name in set(names)]
    if not chosen:
        raise ValueError("no property selected")
    empty = [p.name for p in chosen if not p.room_types]
    if empty:
        raise ValueError(f"properties without rooms: {empty}")
    return chosen
