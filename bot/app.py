"""The composition root: the one place that builds implementations and wires them together."""

from __future__ import annotations

import logging
from pathlib import Path

from bot.broker import provision
from bot.broker.config import BrokerConfig
from bot.broker.server import EmbeddedBroker
from bot.broker.store import BrokerStore
from bot.settings import load_settings

log = logging.getLogger("tourguide")


def _broker_dir(data_dir: Path | None) -> Path:
    return data_dir if data_dir is not None else load_settings().data_dir / "broker"


def _parse_auth(pairs: tuple[str, ...]) -> dict[str, str]:
    auth = {}
    for pair in pairs:
        ak, _, sk = pair.partition(":")
        auth[ak] = sk
    return auth


async def run_broker(
    host: str, port: int, data_dir: Path | None, *, auto_create: bool, strict: bool, auth_pairs: tuple[str, ...]
) -> int:
    """``tourguide broker``: serve until SIGTERM / SIGINT."""
    from bot.cli import wait_for_stop_signal

    config = BrokerConfig(
        host=host, port=port, data_dir=_broker_dir(data_dir), auto_create=auto_create, strict=strict,
        auth=_parse_auth(auth_pairs),
    )
    async with EmbeddedBroker(config) as broker:
        await provision_broker(broker)
        print(f"tourguide broker listening on {broker.endpoint}", flush=True)
        await wait_for_stop_signal()
    return 0


async def provision_broker(broker: EmbeddedBroker, namespace: str = "") -> None:
    """Create the declared topics and groups on a running embedded broker."""
    await broker.apply(provision.topics(namespace), provision.groups(namespace), provision.subscriptions())


async def apply_topics(data_dir: Path | None) -> int:
    """``tourguide topics apply``: write the declared resources into the broker's store."""
    from bot.broker.catalog import Catalog

    path = _broker_dir(data_dir)
    async with BrokerStore(path) as store:
        catalog = Catalog(BrokerConfig(data_dir=path), store, lambda _client: False)
        catalog.restore(await store.load())
        await catalog.apply(provision.topics(), provision.groups(), provision.subscriptions())
    print(f"applied {len(provision.topics())} topics and {len(provision.groups())} groups to {path}")
    return 0
