"""The RocketMQ bus: publish tasks and results, consume task topics, subscribe per-task lite topics.

Only this package imports the official ``rocketmq`` client.
"""

from bot.bus import recovery
from bot.bus.client import BusConfig, Envelope, Handler, Publisher
from bot.bus.consumers import LiteSubscriber, TaskConsumer

recovery.install()

__all__ = ["BusConfig", "Envelope", "Handler", "LiteSubscriber", "Publisher", "TaskConsumer"]
