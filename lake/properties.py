"""The group's property master (lake/reference/properties.yaml) and the one way to find a
hotel by its code or its name."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml

BUNDLED = Path(__file__).resolve().parent / "reference" / "properties.yaml"


@dataclass(frozen=True)
class Hotel:
    code: str
    name: str
    currency: str | None
    room_types: tuple[str, ...]


@dataclass(frozen=True)
class PropertyMaster:
    """Every property of the group, as the master file lists them."""

    records: tuple[dict, ...]

    @classmethod
    def load(cls, path: Path = BUNDLED) -> "PropertyMaster":
        return cls(tuple(yaml.safe_load(Path(path).read_text())["properties"]))

    @cached_property  # find() runs on every request that names a hotel
    def hotels(self) -> tuple[Hotel, ...]:
        return tuple(Hotel(p["code"], p["name"], p.get("currency"), tuple(p.get("room_types") or ()))
                     for p in self.records)

    def rate_ceilings(self, factor: float) -> dict[str, float]:
        """Hotel name -> `factor` times its highest base rate, in its own currency (hotels
        with no base rate in the master have none): a rate far above it is a typo, whatever
        the currency."""
        out = {}
        for p in self.records:
            rates = [float(rt["base_rate"]) for rt in (p.get("room_types") or {}).values()
                     if isinstance(rt, dict) and rt.get("base_rate")]
            if rates:
                out[p["name"]] = factor * max(rates)
        return out

    def names(self) -> list[str]:
        return [p["name"] for p in self.records]

    def codes(self) -> dict[str, str]:
        """Hotel name -> code."""
        return {p["name"]: p["code"] for p in self.records}

    def find(self, value: str) -> Hotel | None:
        """A hotel by code or name, case-insensitive; None when the group has no such hotel."""
        wanted = value.strip().lower()
        return next((h for h in self.hotels if wanted in (h.code.lower(), h.name.lower())), None)

    def known(self) -> str:
        """The hotels, for an error message: "CODE (Name), CODE (Name), ..."."""
        return ", ".join(f"{h.code} ({h.name})" for h in self.hotels)
