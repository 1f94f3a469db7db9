"""The 109 hotline tickets: Open311 services and requests, routing, deadlines, escalation, analytics."""
