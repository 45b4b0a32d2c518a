"""Synthetic hotel chain: landing files calibrated on the real extract.

``generate_chain(out_dir, bookings=..., seed=...)`` writes, deterministically by seed:
``pms/`` rooms, guests, bookings (reference layout + booking_id, guest_id, room_number) and
folio lines; ``attendance/`` employees, shifts and check-in/out events; ``camera/`` room
inspections and anomaly alerts. Formats: ``docs/data-contracts.md``.
"""

from lake.synthetic.chain import generate_chain

__all__ = ["generate_chain"]
