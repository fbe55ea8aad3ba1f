"""Travel agent: itinerary planning (the offline, rule-based planner lives here)."""
