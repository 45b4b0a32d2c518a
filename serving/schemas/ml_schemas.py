"""Request and response bodies of the ML endpoints (`/api/v1/ml`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from ml.catalog import MODELS
from serving.schemas.booking_fields import BookingFields, MarketSegment, Meal

# Request bodies carry no examples of their own: the routes offer examples made of the
# served data (serving.schemas.request_examples). The response examples' hotels, ids, room
# types and days are placeholders the app fills with the same data (RESPONSE_FIELDS there).
TODAY = date.today().isoformat()

# -- cancellation risk (churn/predict: the seeds' path and field names) ------------------


class ChurnRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    booking_id: str | None = Field(None, min_length=1, max_length=64,
                                   description="A booking the online store knows needs nothing else.")
    guest_id: str | None = Field(None, max_length=64, description="Recorded with the prediction.")
    features: BookingFields | None = Field(
        None, description="A new booking's fields; when given, they are scored instead of the "
                          "online store's.")

    @model_validator(mode="after")
    def _something_to_score(self) -> "ChurnRequest":
        if self.booking_id is None and self.features is None:
            raise ValueError("give booking_id (a known booking) or features (a new booking)")
        return self


class RiskFactor(BaseModel):
    factor: str = Field(description="The booking field, e.g. deposit_type, lead_time, agent.")
    value: str | int | float | None = Field(description="Its value on this booking.")
    impact: float = Field(description="Change of the probability it causes (+ raises the risk).")


class ModelEvaluation(BaseModel):
    """How far the answer for this booking's hotel was checked by the model's evaluation."""

    evaluated: bool = Field(description="True when the model was evaluated on this hotel's own "
                                        "most recent months of known outcomes.")
    auc: float | None = Field(None, description="The model's AUC on those months.")
    as_of: str | None = Field(None, description="The day the model was trained as of.")
    reason: str | None = Field(None, description="Why the hotel was not evaluated on its own "
                                                 "(e.g. too little history): its answers come "
                                                 "from the group model, unchecked for it.")


class ChurnResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "booking_id": "<booking id>", "churn_probability": 0.35, "risk_level": "medium",
        "risk_factors": [{"factor": "lead_time", "value": 74, "impact": 0.15},
                         {"factor": "market_segment", "value": "Online TA", "impact": 0.08}],
        "recommended_actions": ["send_confirmation_email", "offer_flexible_dates"],
        "features_from": "online_store", "model_version": "3",
        "evaluation": {"evaluated": True, "auc": 0.9, "reason": None,
                       "as_of": (date.today() - timedelta(days=1)).isoformat()},  # the nightly default
        "prediction_id": "9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"}]})

    booking_id: str | None
    churn_probability: float = Field(ge=0, le=1, description="Calibrated cancellation probability.")
    risk_level: Literal["low", "medium", "high"] = Field(description="low < 0.30 <= medium < 0.60 <= high")
    risk_factors: list[RiskFactor]
    recommended_actions: list[str]
    features_from: Literal["online_store", "request"]
    model_version: str
    evaluation: ModelEvaluation
    prediction_id: str


# -- guest value ------------------------------------------------------------------------


class ClvRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    guest_id: str = Field(min_length=1, max_length=64)


class ClvResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "guest_id": "<guest id>", "predicted_clv": 1830.5, "time_horizon_months": 12,
        "segment": "loyal", "retention_probability": 0.82, "model_version": "2",
        "prediction_id": "9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"}]})

    guest_id: str
    predicted_clv: float = Field(description="Room revenue plus extras expected over the horizon, "
                                             "in the properties' currency.")
    time_horizon_months: int
    segment: Literal["champion", "loyal", "promising", "at_risk", "dormant"]
    retention_probability: float = Field(ge=0, le=1, description="Probability of another stay "
                                                                 "within the horizon.")
    model_version: str
    prediction_id: str


# -- prices -------------------------------------------------------------------------------

MAX_DAYS = 92
EXAMPLE_PRICE = {"date": TODAY, "hotel": "<hotel name>", "hotel_code": "<hotel code>",
                 "room_type": "<room type>", "suggested_price": 112.4, "current_price": 104.0, "expected_occupancy": 0.85,
                 "competitor_avg": 109.0, "confidence": 0.82, "currency": "<currency>"}


# Stays priced and days forecast at most this far from today (pandas' nanoseconds span only
# 1677-2262; schemathesis found years 11 and 246 answered with a 500)
PRICING_YEARS = 20


class DateRange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: date
    end: date


class OptimizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date_range: DateRange
    room_types: list[str] | None = Field(None, max_length=20,
                                         description="Room type codes; default: all of each hotel's.")
    hotel: str | None = Field(None, description="Hotel code or name; default: every hotel.")

    @model_validator(mode="after")
    def _range(self) -> "OptimizeRequest":
        days = (self.date_range.end - self.date_range.start).days + 1
        today = date.today()
        for name, day in (("start", self.date_range.start), ("end", self.date_range.end)):
            if abs((day - today).days) > PRICING_YEARS * 366:
                raise ValueError(f"date_range.{name} {day} is more than {PRICING_YEARS} years "
                                 "from today: no stay to price")
        if days < 1:
            raise ValueError("date_range.end is before date_range.start")
        if days > MAX_DAYS:
            raise ValueError(f"date_range spans {days} days; at most {MAX_DAYS} per request")
        return self


class PricePoint(BaseModel):
    date: date
    hotel: str
    hotel_code: str
    room_type: str
    suggested_price: float
    current_price: float = Field(description="The rate the hotel charges now for that night.")
    expected_occupancy: float = Field(ge=0, le=1, description="At the suggested price.")
    competitor_avg: float = Field(description="Simulated: no competitor feed is connected yet.")
    confidence: float = Field(ge=0, le=1)
    currency: str | None


class OptimizeResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "pricing_schedule": [EXAMPLE_PRICE], "model_version": "4",
        "prediction_id": "9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"}]})

    pricing_schedule: list[PricePoint]
    model_version: str
    prediction_id: str


PRICE_FIELDS = ("hotel", "suggested_price", "current_price", "expected_occupancy",
                "competitor_avg", "confidence", "model_version", "generated_at")


class HotelPrice(BaseModel):
    hotel: str
    hotel_code: str
    suggested_price: float
    current_price: float
    expected_occupancy: float
    competitor_avg: float
    confidence: float
    currency: str | None
    model_version: str
    generated_at: datetime


class CurrentPriceResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "room_type": "<room type>", "date": TODAY,
        "prices": [{k: v for k, v in EXAMPLE_PRICE.items() if k not in ("date", "room_type")}
                   | {"model_version": "4", "generated_at": f"{TODAY}T03:00:12Z"}]}]})

    room_type: str
    date: date
    prices: list[HotelPrice] = Field(description="One per hotel that has the room type.")


# -- forecasts ----------------------------------------------------------------------------

# target -> (response field, what it is)
TARGETS = {
    "occupancy": ("predicted_occupancy", "Share of rooms sold (0-1)."),
    "revenue": ("predicted_revenue", "Room revenue, in the hotel's currency."),
    "housekeeping_demand": ("predicted_rooms_to_clean", "Rooms to clean that day (departures "
                                                        "and stay-overs)."),
}


class ForecastRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    forecast_days: int = Field(30, ge=1, le=365)
    hotel: str = Field("all", description="Hotel code or name, or `all`.")
    room_type: Literal["all"] = Field("all", description="Forecasts are per hotel (all room types).")
    start_date: date | None = Field(None, description="Default: the day after each hotel's data ends.")

    @model_validator(mode="after")
    def _start_near_today(self) -> "ForecastRequest":
        if self.start_date and abs((self.start_date - date.today()).days) > PRICING_YEARS * 366:
            raise ValueError(f"start_date {self.start_date} is more than {PRICING_YEARS} years "
                             "from today: no day to forecast")
        return self


def forecast_point_model(target: str) -> type[BaseModel]:
    field, doc = TARGETS[target]
    return create_model(
        f"{target.title().replace('_', '')}Forecast",
        date=(date, ...), hotel=(str, ...), hotel_code=(str, ...),
        **{field: (float, Field(description=doc))},
        lower_bound=(float, ...), upper_bound=(float, ...),
        confidence=(float, Field(description="Coverage of the [lower, upper] interval.")),
    )


def forecast_response_model(target: str) -> type[BaseModel]:
    field, _ = TARGETS[target]
    example = {"date": TODAY, "hotel": "<hotel name>", "hotel_code": "<hotel code>", field: 0.78,
               "lower_bound": 0.70, "upper_bound": 0.85, "confidence": 0.8}
    return create_model(
        f"{target.title().replace('_', '')}ForecastResponse",
        __config__=ConfigDict(json_schema_extra={"examples": [{
            "target": target, "forecasts": [example], "model_version": "3",
            "prediction_id": "9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"}]}),
        target=(str, ...), forecasts=(list[forecast_point_model(target)], ...), model_version=(str, ...),
        prediction_id=(str, ...),
    )


# -- recommendations ----------------------------------------------------------------------

Segment = Literal["business", "leisure", "corporate", "group"]


class ServiceContext(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_room: str | None = Field(None, max_length=16)
    check_in_date: date | None = None
    guest_segment: Segment | None = None
    hotel: str | None = Field(None, description="Hotel code or name of the stay.")
    nights: int | None = Field(None, ge=1, le=365)
    adults: int | None = Field(None, ge=1, le=60)
    children: int | None = Field(None, ge=0, le=20)
    meal: Meal | None = None
    market_segment: MarketSegment | None = None


class ServicesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    guest_id: str = Field(min_length=1, max_length=64)
    top_k: int = Field(5, ge=1, le=10)
    context: ServiceContext | None = Field(
        None, description="The stay; what is missing comes from the guest's usual stays. A guest "
                          "the lake does not know needs at least `guest_segment`.")


class ServiceRecommendation(BaseModel):
    service_id: str
    service_name: str
    category: str
    score: float = Field(description="Probability the guest takes it on this stay.")
    reason: str
    estimated_revenue: float | None = Field(description="Average charge of the service per stay "
                                                        "that had it, in the hotel's currency.")


class ServicesResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "guest_id": "<guest id>", "recommendations": [{
            "service_id": "massage_60_min", "service_name": "Massage 60 min", "category": "spa",
            "score": 0.41, "reason": "popular with business guests", "estimated_revenue": 85.0}],
        "model_version": "2", "prediction_id": "9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"}]})

    guest_id: str
    recommendations: list[ServiceRecommendation]
    model_version: str
    prediction_id: str


class RoomPreferences(BaseModel):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{"budget": "high"}]})
    budget: Literal["low", "medium", "high"] | float | None = Field(
        None, description="Per night: a number in the hotel's currency, or low / medium / high "
                          "(thirds of the hotel's typical rates).")


class RoomsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hotel: str = Field(description="Hotel code or name.")
    check_in: date
    check_out: date
    adults: int = Field(2, ge=1, le=60)
    children: int = Field(0, ge=0, le=20)
    guest_id: str | None = Field(None, max_length=64, description="Known guests get their segment.")
    segment: Segment | None = None
    preferences: RoomPreferences | None = None
    top_k: int = Field(3, ge=1, le=10)

    @model_validator(mode="after")
    def _stay(self) -> "RoomsRequest":
        if self.check_out <= self.check_in:
            raise ValueError("check_out must be after check_in")
        return self


class RoomRecommendation(BaseModel):
    room_type: str
    score: float
    typical_rate: float | None
    reason: str


class RoomsResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "hotel": "<hotel name>", "hotel_code": "<hotel code>", "recommendations": [
            {"room_type": "D", "score": 0.52, "typical_rate": 95.0,
             "reason": "most often taken by similar requests (party of 2)"}],
        "unmet_preferences": ["view"], "model_version": "2",
        "prediction_id": "9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"}]})

    hotel: str
    hotel_code: str
    recommendations: list[RoomRecommendation]
    unmet_preferences: list[str] = Field(description="Preferences the model has no data for "
                                                     "(e.g. view); they did not affect the ranking.")
    model_version: str
    prediction_id: str


# -- operations ---------------------------------------------------------------------------

ModelName = Literal[tuple([*MODELS, "all"])]


class RetrainResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "model_name": "cancellation", "job_name": "retrain_cancellation",
        "run_id": "5f0e6a1c-3b2d-4e8f-9a7b-1c2d3e4f5a6b", "status": "submitted",
        "run_url": "http://127.0.0.1:3000/runs/5f0e6a1c-3b2d-4e8f-9a7b-1c2d3e4f5a6b"}]})

    model_name: str
    job_name: str
    run_id: str = Field(description="The Dagster run; follow it at run_url.")
    status: Literal["submitted"]
    run_url: str


class MlHealth(BaseModel):
    status: str = Field(description="ok, or degraded when a model or the feature store is unavailable.")
    models: dict[str, dict] = Field(description="Per served model: version and load time, or why not.")
    feature_store: dict
    predictions: dict = Field(description="The prediction log: buffered, written, spooled.")
