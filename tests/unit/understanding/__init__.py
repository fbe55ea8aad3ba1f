"""Tests of agents.understanding."""
