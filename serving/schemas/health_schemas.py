"""Response bodies of the platform's health endpoints (`/health`, `/health/live`,
`/health/ready`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Union

from pydantic import BaseModel, Field


class MartsBuilt(BaseModel):
    available: Literal[True]
    path: str = Field(description="The published marts file.")
    built_at: datetime = Field(description="When it was last replaced (UTC).")
    data_as_of: dict[str, str] = Field(description="Per hotel, the day its data is current as of.")
    tables: list[str]


class MartsMissing(BaseModel):
    available: Literal[False]
    path: str = Field(description="Where the marts file will be.")
    reason: str = Field(description="Why it is not there, and what to run.")


class PlatformHealth(BaseModel):
    status: Literal["ok"]
    profile: str = Field(description="The settings' profile: embedded or production.")
    marts: Union[MartsBuilt, MartsMissing] = Field(discriminator="available")


class Liveness(BaseModel):
    status: Literal["alive"]


class Ready(BaseModel):
    status: Literal["ready"]


class NotReady(BaseModel):
    status: Literal["not ready"]
    reason: str = Field(description="Why: the marts file is not built or not readable.")
