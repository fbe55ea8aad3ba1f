"""Benchmarks behind `tourguide bench ...`: they print figures, tests assert behaviour."""
