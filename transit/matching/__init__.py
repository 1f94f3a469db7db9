"""Matching pings to scheduled trips: paths in local metres, projection onto them, stop placement."""
