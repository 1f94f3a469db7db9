"""Route analysis for planners: duplicated routes and network redesign scenarios (issue 7)."""
