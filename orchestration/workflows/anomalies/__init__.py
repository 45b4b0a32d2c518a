"""Anomalies: a fire, smoke, flood or intrusion alert -> the duty manager and security at once;
critical ones repeat until acknowledged (POST /api/v1/ops/notifications/{id}/ack)."""
