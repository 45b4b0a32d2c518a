"""Guest request: a routed message -> a task for the team (assigned to someone on shift) and
an acknowledgement to the guest; an overdue task escalates to the supervisor. Actions queued
by the assistant (create_task, send_message, send_alert) are carried out here too."""
