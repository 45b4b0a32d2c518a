"""Request and response bodies of the vision endpoints (`/api/v1/cv`): the seeds' paths
and field names, images as base64 in JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from lake.sources import ANOMALY_ALERTS
from serving.schemas.booking_fields import allowed_values
from serving.schemas.event_schemas import EventAccepted, hotel_name

# Generous: the decoded size is checked against the settings' image_max_bytes (default
# 15 MB) before the image is opened, with a message that names the limit.
MAX_BASE64 = 30_000_000

Base64Image = Annotated[str, Field(
    min_length=1, max_length=MAX_BASE64,
    description="The image file (JPEG, PNG, WebP, BMP or TIFF), base64-encoded; a "
                "`data:image/...;base64,` prefix is accepted.")]
EMPLOYEE_ID = r"^[A-Za-z0-9_.:-]{1,64}$"
EmployeeId = Annotated[str, Field(pattern=EMPLOYEE_ID,
                                  description="The employee's id (letters, digits, _ . : -).")]
HotelName = Annotated[str, AfterValidator(hotel_name),
                      Field(description="Name or code of the property master.")]
AnomalyType = allowed_values(ANOMALY_ALERTS.contract, "type")
Severity = allowed_values(ANOMALY_ALERTS.contract, "severity")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- faces ------------------------------------------------------------------------------


class EmployeeMetadata(Strict):
    name: str | None = Field(None, max_length=200)
    department: str | None = Field(None, max_length=64)
    hotel: HotelName | None = None


class EnrollRequest(Strict):
    employee_id: EmployeeId
    images: list[Base64Image] = Field(min_length=1, max_length=10, description=(
        "One to ten photos of the employee alone, face visible; each is accepted or refused "
        "with the reason."))
    metadata: EmployeeMetadata = Field(default_factory=EmployeeMetadata)


class PhotoVerdict(BaseModel):
    index: int = Field(description="The photo's position in `images`.")
    accepted: bool
    reason: str | None = Field(description="Why it was refused (no face, several faces, face "
                                           "too small, too blurred, detector score too low).")
    det_score: float | None = None
    face_pixels: int | None = Field(None, description="The face's height in pixels.")
    sharpness: float | None = None


class Calibration(BaseModel):
    """The open-set threshold for this gallery, from the impostor faces' similarities."""

    threshold: float = Field(description="The similarity a 1:N match needs at this gallery size.")
    expected_false_accept: float = Field(description="The chance a stranger matches anyone "
                                                     "enrolled at that threshold.")
    enrolled_people: int
    impostor_faces: int = Field(description="Faces of people not enrolled it was fitted on.")
    impostor_mean: float
    impostor_std: float
    threshold_1to1: float = Field(description="The threshold of a 1:1 check (N = 1).")
    genuine_mean: float | None = Field(None, description="Mean similarity between photos of "
                                                         "the same enrolled person.")
    genuine_min: float | None = None
    expected_false_reject: float | None = Field(
        None, description="Share of same-person pairs below the threshold.")
    computed_at: datetime


class EnrollResponse(BaseModel):
    employee_id: str
    enrolled: bool = Field(description="True when at least one photo was accepted.")
    photos: list[PhotoVerdict]
    templates_added: int
    templates_total: int = Field(description="The employee's templates now.")
    calibration: Calibration


class RecognizeRequest(Strict):
    image: Base64Image | None = Field(None, description="One camera frame.")
    images: list[Base64Image] | None = Field(None, min_length=1, max_length=10, description=(
        "A burst of frames from one camera, decided as one (a quality-weighted vote)."))
    camera_id: str | None = Field(None, max_length=128, description=(
        "The camera; a staff-entrance camera (setting `attendance_cameras`) turns a match "
        "into an attendance event."))
    timestamp: AwareDatetime | None = Field(None, description="When the frame was taken; "
                                                              "omitted: when received.")

    @model_validator(mode="after")
    def _one_of(self) -> "RecognizeRequest":
        if (self.image is None) == (self.images is None):
            raise ValueError("give `image` (one frame) or `images` (a burst), not both")
        return self

    @property
    def frames(self) -> list[str]:
        return [self.image] if self.image is not None else list(self.images or [])


class FaceQuality(BaseModel):
    det_score: float | None = Field(None, description="The detector's score.")
    face_pixels: int | None = Field(None, description="The face's size in pixels.")
    sharpness: float | None = Field(None, description="Variance of the Laplacian of the face.")


class FrameResult(BaseModel):
    index: int
    voted: bool = Field(description="False when the frame failed the quality gate.")
    reason: str | None = Field(None, description="Why it did not vote.")
    quality: FaceQuality | None = None
    weight: float = Field(description="Its vote's weight (from its quality).")
    best: str | None = Field(None, description="The frame's best person.")
    similarity: float | None = None


class RecognizeResponse(BaseModel):
    success: bool = Field(description="True when an enrolled employee was recognised.")
    decision: Literal["match", "unknown"]
    employee_id: str | None
    confidence: float = Field(description="0..1, calibrated on strangers: 1 minus the chance "
                                          "that someone not enrolled scores this similarity "
                                          "against one of the enrolled people (0 for unknown).")
    similarity: float | None = Field(description="Best person's similarity.")
    margin: float | None = Field(description="Best person's lead over the next person.")
    runner_up: str | None = Field(description="The next-best person.")
    reason: str | None = Field(description="Why the answer is unknown.")
    threshold: float
    frames: int
    frames_voted: int
    per_frame: list[FrameResult]
    recognition_time_ms: float
    attendance_event: EventAccepted | None = Field(
        None, description="The attendance event a staff-entrance camera's match landed.")
    prediction_id: str


class Template(BaseModel):
    template_id: str
    photo_sha256: str = Field(description="The enrolment photo it was made from.")
    quality: FaceQuality
    model: str
    enrolled_at: datetime
    embedding: list[float]


class EmbeddingResponse(BaseModel):
    employee_id: str
    templates: list[Template]


class StoreRemoval(BaseModel):
    model_config = ConfigDict(extra="allow")  # what each store measured (versions, files)

    store: str = Field(description="lancedb or lake.")
    table: str
    rows: int = Field(description="Rows removed.")


class StoreKept(BaseModel):
    store: str
    table: str
    why: str


class ErasureReceipt(BaseModel):
    receipt_id: str
    employee_id: str
    erased_at: datetime
    requested_by: str
    removed: list[StoreRemoval]
    kept: list[StoreKept]
    verified: dict[str, Any] = Field(description="What a search of every store, every old "
                                                 "version included, found afterwards: `found` 0.")


# -- images -----------------------------------------------------------------------------

Category = Literal["room", "lost_and_found", "amenity"]


class ImageMetadata(Strict):
    category: Category
    hotel: HotelName
    room_number: str | None = Field(None, pattern=r"^[A-Za-z0-9-]{1,16}$")
    description: str | None = Field(None, max_length=2000, description=(
        "Free text, searched by words: e.g. 'black leather wallet, found in the lobby'."))
    tags: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=50)


class IndexRequest(Strict):
    image: Base64Image
    metadata: ImageMetadata


class IndexResponse(BaseModel):
    image_id: str
    duplicate: bool = Field(description="True when this image with this metadata was "
                                        "already indexed (its id is returned).")
    category: Category
    indexed_at: datetime


class SearchRequest(Strict):
    query_image: Base64Image | None = None
    query_text: str | None = Field(None, min_length=1, max_length=500)
    category: Category | None = None
    hotel: HotelName | None = None
    top_k: int = Field(10, ge=1, le=100)
    threshold: float | None = Field(None, ge=0, le=1, description=(
        "Drop results whose image similarity is below it (ignored for text-only matches)."))

    @model_validator(mode="after")
    def _something(self) -> "SearchRequest":
        if self.query_image is None and self.query_text is None:
            raise ValueError("give query_image, query_text or both")
        return self


class SearchHit(BaseModel):
    image_id: str
    similarity: float = Field(description="The fused score (reciprocal-rank fusion of the "
                                          "image and word matches), higher is better.")
    vector_score: float | None = Field(description="Cosine similarity of the images or of "
                                                   "the text to the image.")
    text_score: float | None = Field(description="Full-text (BM25) score of the description.")
    metadata: dict[str, Any]


class SearchResponse(BaseModel):
    results: list[SearchHit]
    search_time_ms: float


# -- rooms and anomalies ---------------------------------------------------------------


class RoomAnalyzeRequest(Strict):
    image: Base64Image
    hotel: HotelName
    room_number: str = Field(pattern=r"^[A-Za-z0-9-]{1,16}$")
    camera_id: str | None = Field(None, max_length=128)


class Tag(BaseModel):
    label: str
    confidence: float


class RoomAnalyzeResponse(BaseModel):
    hotel: str
    room_number: str
    status: Literal["clean", "dirty", "maintenance"]
    tags: list[Tag]
    ready_for_guest: bool
    estimated_cleaning_time_minutes: int
    method: str = Field(description="zero_shot (CLIP prompts) or probe (trained on the "
                                    "lake's housekeeping verdicts).")
    inspection: EventAccepted = Field(description="The room inspection landed in the lake.")


class AnomalyRequest(Strict):
    image: Base64Image
    hotel: HotelName
    camera_id: str = Field(min_length=1, max_length=128)
    detection_types: list[AnomalyType] | None = Field(None, description="Default: all.")


class Anomaly(BaseModel):
    type: AnomalyType
    confidence: float
    severity: Severity
    alert: bool = Field(description="True when it should wake someone (landed as an alert).")
    reason: str


class AnomalyResponse(BaseModel):
    anomalies: list[Anomaly]
    alerts: list[EventAccepted] = Field(description="The anomaly alerts landed in the lake.")


# -- documents ------------------------------------------------------------------------------


class OcrRequest(Strict):
    image: Base64Image


class ReadField(BaseModel):
    value: Any = None
    confidence: float = Field(description="0..1, from the OCR's word confidences; 0 when the "
                                          "field was not found.")


class InvoiceLine(BaseModel):
    description: str
    quantity: float | None = None
    amount: float | None = None
    confidence: float


class InvoiceResponse(BaseModel):
    invoice_number: ReadField
    date: ReadField
    supplier: ReadField
    total: ReadField
    currency: ReadField
    tax: ReadField
    lines: list[InvoiceLine]
    text: str = Field(description="The text read, for checking.")


class IdRequest(Strict):
    image: Base64Image
    document_type: Literal["passport", "id_card"] | None = Field(
        None, description="Checked against the MRZ found (TD3 passport, TD1 ID card).")
    face_image: Base64Image | None = Field(None, description=(
        "A photo of the guest: matched 1:1 against the document's photo."))


class FaceMatch(BaseModel):
    match: bool
    similarity: float | None
    threshold: float = Field(description="The 1:1 threshold.")
    reason: str | None = None
    faces: list[FaceQuality | None] = Field(description="The document's face, the photo's.")


class IdResponse(BaseModel):
    document_type: Literal["passport", "id_card"]
    format: Literal["TD3", "TD1"]
    valid: Literal[True] = Field(description="Every check digit verified (a document failing "
                                             "one is refused with 422).")
    fields: dict[str, Any]
    checks: dict[str, bool]
    mrz_lines: list[str]
    face_match: FaceMatch | None = None


# -- health -----------------------------------------------------------------------------


class ModelStatus(BaseModel):
    status: Literal["loaded", "unavailable"]
    model: str | None = None
    reason: str | None = Field(None, description="Why it is not loaded, and what to do.")
    details: dict[str, Any] = Field(default_factory=dict)


class CvHealth(BaseModel):
    status: Literal["ok", "degraded"]
    models: dict[str, ModelStatus] = Field(description="faces, clip, ocr.")
