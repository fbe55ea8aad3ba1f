"""The RocketMQ 5 gRPC wire types, as generated from apache/rocketmq-apis.

The broker is the server side of the protocol the official client speaks, so it uses the
client package's compiled protobuf modules rather than a second copy of the same .proto files.
Nothing else of the client is imported here: only :mod:`bot.bus` uses the client itself.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from rocketmq.grpc_protocol import definition_pb2 as pb
from rocketmq.grpc_protocol import service_pb2 as spb
from rocketmq.grpc_protocol import service_pb2_grpc as grpc_api

Code = pb.Code


def status(code: int, message: str = "") -> Any:
    """A ``Status`` message; the message defaults to the code's name, as the proxy does."""
    return pb.Status(code=code, message=message or pb.Code.Name(code))


def ok() -> Any:
    """The OK status."""
    return status(Code.OK)


def timestamp_ms(ms: int) -> Timestamp:
    """A protobuf Timestamp from epoch milliseconds."""
    ts = Timestamp()
    ts.FromMilliseconds(ms)
    return ts


def to_ms(ts: Timestamp) -> int:
    """Epoch milliseconds of a protobuf Timestamp."""
    return int(ts.seconds) * 1000 + int(ts.nanos) // 1_000_000


def duration_s(seconds: float) -> Any:
    """A protobuf Duration from seconds."""
    from google.protobuf.duration_pb2 import Duration

    d = Duration()
    d.FromMilliseconds(int(seconds * 1000))
    return d


__all__ = ["Code", "Timestamp", "duration_s", "grpc_api", "ok", "pb", "spb", "status", "timestamp_ms", "to_ms"]
