"""Workflows that need the served platform's models, from the API call to the outbox row:
a booking event scored by the cancellation champion, and a reported loss matched to a found
item of the image index (CLIP)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import dagster as dg
import polars as pl

from lake.delta_tables import Lake
from lake.ingest import LandingZone
from lake.tables import BOOKING_ACTIONS, GUEST_REQUESTS, LOST_FOUND_MATCHES
from ml.registry import ModelRegistry
from orchestration.vision.resources import VisionModels
from orchestration.workflows.bookings.assets import booking_actions
from orchestration.workflows.lost_found.assets import lost_found_matches
from orchestration.workflows.resources import Operations
from tests.serving.conftest import bearer, guest_requests, services

EVENTS, CV = "/api/v1/events", "/api/v1/cv"


def materialize(asset, resources) -> dict:
    result = dg.materialize([asset], resources=resources)
    assert result.success
    return result.asset_materializations_for_node(asset.op.name)[0].metadata


def test_a_booking_event_is_scored_and_a_high_risk_queues_the_actions(client, api_settings):
    hotel = services(client).properties.hotels[0]
    arrival = date.today() + timedelta(days=40)
    r = client.post(f"{EVENTS}/booking", headers=bearer(api_settings, "front_desk"), json={
        "event_id": "wf-booking-1", "event_type": "new_booking", "booking_id": "WF-B1",
        "hotel": hotel.name, "arrival_date": arrival.isoformat(), "lead_time": 200,
        "stays_in_weekend_nights": 1, "stays_in_week_nights": 2,
        "guest_data": {"guest_id": "G-WF1", "adults": 2, "country": "PRT"},
        "room_data": {"reserved_room_type": hotel.room_types[0], "adr": 95.0},
        "market_segment": "Groups", "deposit_type": "No Deposit"})
    assert r.status_code == 202, r.text
    zone = LandingZone.from_settings(api_settings)
    for path in services(client).events.roll():
        zone.ingest(path)
    lake = Lake.from_settings(api_settings)
    ops = Operations.from_settings(api_settings, lake)
    resources = {"ops": dataclasses.replace(ops, high_risk_threshold=0.0),  # every risk is high
                 "registry": ModelRegistry.from_settings(api_settings)}
    metadata = materialize(booking_actions, resources)
    assert metadata["bookings_scored"].value >= 1
    row = lake.read(BOOKING_ACTIONS.name).filter(pl.col("booking_id") == "WF-B1").row(0, named=True)
    assert 0 <= row["probability"] <= 1 and row["model"] == "cancellation"
    assert row["message_id"] == "booking-risk:WF-B1"
    assert f"{row['probability']:.0%}" in ops.outbox.by_key("booking-risk:WF-B1").body
    notice = ops.outbox.by_key("booking-risk:WF-B1")
    assert notice.recipient == f"front_office@{hotel.code}"
    assert all(a in notice.body for a in row["actions"])
    # scored once: the next run (another ingest) leaves it
    assert materialize(booking_actions, resources)["bookings_scored"].value == 0


def test_a_reported_loss_matching_a_found_item_is_a_notice_for_staff_never_the_guest(
        client, api_settings):
    from tests.vision.tiny_clip import shape_png
    from tests.serving.test_cv_endpoints import b64

    hotel = services(client).properties.hotels[-1].name
    admin = bearer(api_settings, "admin")
    r = client.post(f"{CV}/image/index", headers=admin, json={
        "image": b64(shape_png("blue", "circle")),
        "metadata": {"hotel": hotel, "category": "lost_and_found",
                     "description": "blue sunglasses case found in the lobby"}})
    assert r.status_code == 200, r.text
    found = r.json()["image_id"]
    lake = Lake.from_settings(api_settings)
    lake.ensure(GUEST_REQUESTS.name, GUEST_REQUESTS.schema)
    lake.append(GUEST_REQUESTS.name, guest_requests({
        "request_id": "wf-loss-1", "hotel": hotel, "guest_id": "G-LOSS",
        "message": "I left my blue sunglasses in the lobby yesterday", "category": "front_desk",
        "request_type": "lost_item", "team": "front_office", "items": ["sunglasses"]}))
    ops = Operations.from_settings(api_settings, lake)
    vision = VisionModels.from_settings(api_settings, lake)
    # the tiny CLIP of the tests has no sense of likeness: the threshold decides alone
    strict = {"ops": dataclasses.replace(ops, lost_found_min_similarity=1.01), "vision": vision}
    assert materialize(lost_found_matches, strict)["matches"].value == 0
    lenient = {"ops": dataclasses.replace(ops, lost_found_min_similarity=-1.0), "vision": vision}
    assert materialize(lost_found_matches, lenient)["matches"].value >= 1
    match = lake.read(LOST_FOUND_MATCHES.name).filter(
        (pl.col("request_id") == "wf-loss-1") & (pl.col("image_id") == found)).row(0, named=True)
    assert match["status"] == "to_confirm" and match["guest_id"] == "G-LOSS"
    notice = ops.outbox.by_key(match["notice_id"])
    assert notice.recipient.startswith("front_office@") and found in notice.body
    assert ops.outbox.list(recipient="guest:G-LOSS") == []  # the guest is not told
    assert materialize(lost_found_matches, lenient)["matches"].value == 0  # matched once
