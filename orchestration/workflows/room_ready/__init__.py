"""Room ready: a room inspected clean that a guest arriving today waits for -> the guest's
check-in-ready message in their language, once."""
