"""``tourguide broker``: the embedded broker in the foreground, provisioned with the project's resources.

Kept apart from the composition root (``bot.wiring``): a broker process needs the broker and the resource
declarations only, not the agents, the chat platforms or storage, and starts about a second sooner for it.
"""

from __future__ import annotations

from pathlib import Path

from bot import metrics
from bot.broker.config import BrokerConfig
from bot.broker.server import EmbeddedBroker
from bot.provisioning import provision_broker
from bot.settings import Settings
from bot.signals import wait_for_stop_signal


def _parse_auth(pairs: tuple[str, ...]) -> dict[str, str]:
    auth = {}
    for pair in pairs:
        ak, _, sk = pair.partition(":")
        auth[ak] = sk
    return auth


async def run_broker(settings: Settings, host: str, port: int, data_dir: Path | None, *, auto_create: bool,
                     strict: bool, auth_pairs: tuple[str, ...]) -> int:
    """``tourguide broker``: serve until SIGTERM / SIGINT."""
    config = BrokerConfig(
        host=host, port=port, data_dir=data_dir or settings.data_dir / "broker", auto_create=auto_create,
        strict=strict, auth=_parse_auth(auth_pairs),
    )
    async with EmbeddedBroker(config) as broker, metrics.serving(settings.metrics_port):
        with metrics.broker_rpcs(broker.rpcs.snapshot):
            await provision_broker(broker)
            print(f"tourguide broker listening on {broker.endpoint}", flush=True)
            await wait_for_stop_signal()
    return 0
