"""Worker agents (weather, travel), the Supervisor, LLM providers and tools."""
