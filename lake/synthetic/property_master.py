"""The group's property master (``lake/reference/properties.yaml``) as typed records.

The properties marked ``real: true`` are those of the bundled extract: their bookings are
the templates the synthetic properties are calibrated on. Each property has a kind,
``resort`` or ``city`` (the optional ``kind`` field of the master, else read from its name);
a synthetic property follows the real property of its kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

KINDS = ("resort", "city")
# Without a ``kind`` in the master: leisure destinations behave like a resort, the others
# like a city hotel.
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
    kind: str = "city"  # "resort" or "city"

    @property
    def total_rooms(self) -> int:
        return sum(rt.rooms for rt in self.room_types)


def kind_of_name(name: str) -> str:
    words = {w.lower() for w in name.replace("-", " ").split()}
    return "resort" if words & _RESORT_WORDS else "city"


def template_for(prop: Property, templates: list[Property]) -> Property:
    """The real property whose booking behaviour ``prop`` follows: itself when it is one,
    else the first of its kind, else the first one."""
    if not templates:
        raise ValueError("no real property to calibrate on (none has real: true)")
    if any(t.name == prop.name for t in templates):
        return prop
    return next((t for t in templates if t.kind == prop.kind), templates[0])


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
        kind = str(p.get("kind") or kind_of_name(str(p["name"]))).lower()
        if kind not in KINDS:
            raise ValueError(f"property {p['name']!r}: kind {kind!r} is not one of {KINDS}")
        out.append(
            Property(
                name=str(p["name"]), code=str(p["code"]), city=str(p.get("city", "")),
                country=str(p.get("country", "")), currency=str(p.get("currency", "EUR")),
                real=bool(p.get("real", False)), room_types=tuple(types), kind=kind,
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
