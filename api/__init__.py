"""The HTTP API (FastAPI): routers per user group, auth, Open311. Built by the API issue."""
