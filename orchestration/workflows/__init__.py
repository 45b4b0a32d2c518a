"""Operations workflows, one folder each: attendance, room_ready, bookings, guest_requests,
lost_found, anomalies, prices, failures, archival, and the outbox's sender. Each turns an
event that reached the lake into decisions (``operations.workflows``) written to the outbox
and the lake, in the same step."""
