"""Configuration of the embedded broker (all limits default to the real proxy's values)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    """How the embedded broker listens, stores and validates.

    ``strict`` enforces the real proxy's limits (batch <= 32, invisible time >= 10 s) and refuses
    unknown topics and groups, so CI catches what a production cluster would refuse.
    """

    host: str = "127.0.0.1"
    port: int = 8081
    data_dir: Path | None = None  # None = in-memory (tests)
    broker_name: str = "tourguide-broker-0"
    strict: bool = True
    auto_create: bool = False  # create unknown topics/groups on first use (dev convenience)
    new_group_start: Literal["earliest", "latest"] = "earliest"
    queues_per_topic: int = 2
    max_body_bytes: int = 4 * 1024 * 1024
    max_batch: int = 32
    min_invisible_s: float = 10.0
    max_invisible_s: float = 12 * 3600.0
    auto_renew_invisible_s: float = 60.0
    auto_renew_max_s: float = 3 * 3600.0
    release_delay_s: float = 1.0  # invisible time of a dead client's messages
    client_expiry_s: float = 120.0
    long_polling_min_s: float = 5.0
    long_polling_max_s: float = 20.0
    max_delay_s: float = 24 * 3600.0
    max_lite_topic_len: int = 64
    lite_subscription_expiry_s: float = 180.0
    housekeeping_interval_s: float = 5.0
    retention_s: float = 72 * 3600.0
    dedupe_window: int = 10_000  # remembered (topic, message id) pairs for producer retries
    auth: dict[str, str] = field(default_factory=dict)  # access key -> secret key; empty = off

    @property
    def address(self) -> str:
        """host:port the broker listens on."""
        return f"{self.host}:{self.port}"
