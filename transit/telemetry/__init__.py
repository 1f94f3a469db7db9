"""Telemetry: ping parsing and validation, MQTT ingest, ping storage, replay and simulation."""
