"""The embedded broker's own errors: it imports nothing from the rest of ``bot``.

An application embedding the broker maps these onto its own error tree where it starts the broker
(tourguide's :class:`bot.errors.BrokerError` derives from :class:`BrokerError`).
"""

from __future__ import annotations


class BrokerError(Exception):
    """Raised when the embedded broker cannot start or serve a request."""
