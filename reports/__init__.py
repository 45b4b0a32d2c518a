"""Reports a general manager reads: the daily flash, the weekly review and the monthly pack.

``periods`` names a report's period (a Dagster partition key); ``report_data`` gathers each
report's figures as SQL over the marts (plus the champion models and the lake's price
schedule and prediction log) into plain dictionaries; ``charts`` and ``rendering`` turn one
into HTML (Jinja2, inline SVG charts, English or Vietnamese) and PDF (WeasyPrint);
``report_store`` keeps them at ``reports/<kind>/<period>/<property>.<language>.<pdf|html>``
in the lake's storage, written atomically; ``subscriptions`` says who receives which.
Orchestration (Dagster's partitioned assets) and serving (``/api/v1/reports``) import it;
it imports neither.
"""
