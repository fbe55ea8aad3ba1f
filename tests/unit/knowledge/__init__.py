"""Tests of the built-in knowledge, the offline climate and the offline planner."""
