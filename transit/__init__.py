"""Transit compliance service: GTFS day plans, trip verdicts, carrier contracts, and 109 tickets."""
