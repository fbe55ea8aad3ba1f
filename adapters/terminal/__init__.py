"""The terminal as a chat adapter: ``tourguide chat`` and ``tourguide ask``."""
