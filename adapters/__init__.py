"""Chat platforms, one folder each (adapter, rendering, settings), behind the port in :mod:`bot.ports`;
shared helpers for platforms that serve HTTP (:mod:`adapters.http_guard`)."""
