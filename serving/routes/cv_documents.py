"""Documents (`/api/v1/cv/ocr`): supplier invoices into fields, identity documents' MRZ
into verified fields with an optional 1:1 match of the document's photo (the check-in
check)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from serving.core.error_docs import error_responses, invalid
from serving.core.errors import ErrorDetail, InvalidRequest, Message
from serving.deps import CvReader, VisionDep
from serving.schemas.cv_schemas import IdRequest, IdResponse, InvoiceResponse, OcrRequest
from serving.schemas.request_examples import examples_for
from vision.documents import DocumentUnreadable, read_invoice, read_mrz

router = APIRouter(tags=["cv: documents"])

UNREADABLE = Message("the document could not be read: {reason}")
CHECK_FAILED = Message("the MRZ fails its check digits ({checks}): the document is refused; "
                       "photograph it again, flat and sharp, or check it by hand")
WRONG_KIND = Message("the MRZ is a {found}'s, not a {expected}'s")


def read(reader, image: str, vision):
    """The checked picture and what ``reader`` read of it; 422 when it cannot be read."""
    vision.require_ocr()
    picture = vision.picture(image, "body.image")
    try:
        return picture, reader(picture)
    except DocumentUnreadable as e:
        raise InvalidRequest(UNREADABLE.format(reason=e),
                             [ErrorDetail(field="body.image", problem=str(e))]) from None


@router.post("/ocr/invoice", response_model=InvoiceResponse,
             responses=error_responses("cv:read", invalid(OcrRequest, {}, "No image")),
             summary="Read a supplier invoice (permission cv:read)")
def invoice(body: Annotated[OcrRequest, Body(openapi_examples=examples_for(OcrRequest))],
            _: CvReader, vision: VisionDep) -> InvoiceResponse:
    """Number, date, supplier, total, currency, tax and lines, each with the confidence
    of the words it was read from; a field not found is null with confidence 0, never
    guessed. Vietnamese and English invoices."""
    return InvoiceResponse(**read(read_invoice, body.image, vision)[1])


@router.post("/ocr/id", response_model=IdResponse,
             responses=error_responses("cv:read", invalid(IdRequest, {}, "No image")),
             summary="Read an identity document's MRZ, optionally matching its photo "
                     "(permission cv:read)")
def identity(body: Annotated[IdRequest, Body(openapi_examples=examples_for(IdRequest))],
             _: CvReader, vision: VisionDep) -> IdResponse:
    """The machine-readable zone of a passport (TD3) or an ID card (TD1) into fields, with
    every check digit verified: a document failing any (the composite included) is
    refused with 422 naming the checks. With `face_image`, the document's photo is matched
    1:1 against it."""
    picture, out = read(read_mrz, body.image, vision)
    if not out["valid"]:
        failed = [name for name, ok in out["checks"].items() if not ok]
        raise InvalidRequest(CHECK_FAILED.format(checks=", ".join(failed) or "format"), [
            ErrorDetail(field="body.image", problem=p) for p in out.get("problems") or
            [f"{name} check digit fails" for name in failed]])
    if body.document_type and body.document_type != out["document_type"]:
        problem = WRONG_KIND.format(found=out["document_type"].replace("_", " "),
                                    expected=body.document_type.replace("_", " "))
        raise InvalidRequest(problem, [ErrorDetail(field="body.document_type", problem=problem)])
    face_match = None
    if body.face_image is not None:
        face = vision.picture(body.face_image, "body.face_image")
        face_match = vision.require_faces().match(picture, face)
    return IdResponse(**{k: out[k] for k in ("document_type", "format", "valid", "fields",
                                             "checks", "mrz_lines")}, face_match=face_match)
