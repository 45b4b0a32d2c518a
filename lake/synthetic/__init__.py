"""Synthetic hotel chain: landing files calibrated on the real extract.

``generate_chain(out_dir, bookings=..., seed=..., end=...)`` writes the chain as it stands
on the end day (default today), deterministically by seed and end day: ``pms/`` rooms,
guests, bookings (reference layout + booking_id, guest_id, room_number: two years of
arrivals up to the end day and the bookings on the books for the months after it, whose
outcome is not known yet) and folio lines; ``attendance/`` employees, shifts and
check-in/out events; ``camera/`` room inspections and anomaly alerts. Formats:
``docs/data-contracts.md``.
"""

from lake.synthetic.chain import generate_chain

__all__ = ["generate_chain"]
