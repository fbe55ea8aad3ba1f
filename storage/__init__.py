"""SQLite persistence (aiosqlite): sessions, conversation refs, inbound dedupe, reply outbox, traces."""
