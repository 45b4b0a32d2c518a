"""DELETE /api/v1/guests/{guest_id}/contact: a guest's right to erasure of their contact
details (the encrypted contact vault of the ops database), with a receipt of what was
removed and what is kept, and why."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter

from serving.core.error_docs import error_responses, invalid
from serving.deps import ContactEraser, OutboxDep, VaultDep
from serving.schemas.ops_task_schemas import ContactErasureReceipt, GuestId, Id, Kept, Removed

router = APIRouter(prefix="/api/v1/guests", tags=["guests"])

STOPPED = "contact erased"  # the last error of the messages the erasure stops
VAULT = "contact vault (ops database, encrypted)"
KEPT = [
    Kept(what="the lake's guest records and stays (bronze/pms_guests, the marts)",
         why="their contact fields are pseudonyms (keyed HMAC) and an email domain: without the "
             "pseudonym key they cannot be turned back into an address, and bookings, stays "
             "and revenue are records the business must keep"),
    Kept(what="the outbox's messages to the guest: those sent, and those this erasure stopped",
         why="the record of what was sent or meant to be; the monthly archival moves them to "
             "the lake without their bodies, and nothing reaches the guest any more: the "
             "sender finds no address for them"),
    Kept(what="the guest's requests and tasks (language/guest_requests, ops/tasks)",
         why="the record of the service given; they name the guest by id only"),
]


@router.delete("/{guest_id}/contact", response_model=ContactErasureReceipt,
               responses=error_responses("contacts:erase", invalid(
                   Id, "not an id!", "Not a guest id", where=("path", "guest_id"))),
               summary="Erase a guest's contact details, with a receipt (permission contacts:erase)")
def erase_contact(guest_id: GuestId, principal: ContactEraser, vault: VaultDep,
                  outbox: OutboxDep) -> ContactErasureReceipt:
    """Deletes the guest's row of the contact vault (name, email and phone, encrypted), and
    stops the outbox's messages to the guest still due (dead, 'contact erased'): nothing is
    sent to the guest from now on. A guest the vault does not hold answers `erased: false`
    (erasing twice is harmless). The receipt says what was removed, and what is kept and
    why."""
    at = datetime.now(timezone.utc)
    erased = vault.erase(guest_id)
    stopped = outbox.cancel_for(f"guest:{guest_id}", STOPPED, at=at)
    removed = [Removed(what="name, email, phone and language", where=VAULT)] if erased else []
    if stopped:
        removed.append(Removed(what=f"{len(stopped)} message(s) still due to the guest: now dead "
                                    f"('{STOPPED}'), never sent", where="outbox (ops database)"))
    return ContactErasureReceipt(guest_id=guest_id, erased=erased, erased_at=at,
                                 requested_by=principal.subject, removed=removed,
                                 messages_stopped=stopped, kept=KEPT)
