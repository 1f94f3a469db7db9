"""Open311 GeoReport v2 for the citizens' ticket API; wire.py holds the XML/JSON wire format."""
