"""Built-in destination knowledge: JSON files read by :mod:`agents.knowledge.catalog`."""
