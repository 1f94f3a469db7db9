"""GTFS: feed reading and validation, the service calendar, the day plan of trip instances."""
