"""Random protobuf messages for fuzzing: every field type, unknown enum numbers, hostile strings.

Seeded ``random.Random`` only, so a failing run is reproduced by its seed.
"""

from __future__ import annotations

import random
from typing import Any

from google.protobuf.descriptor import FieldDescriptor

# Names the broker knows, names it must refuse, and text that breaks naive code.
STRINGS = [
    "", " ", "Orders", "Results", "Fifo", "GID_simple", "GID_lite", "GID_push", "%DLQ%GID_simple", "%DLQ%nobody",
    "%RETRY%GID_simple", "rmq_sys_x", "a b", "a|b", "x" * 200, "名字", "\x00", "tab\tbed", "\ud7ff", "🧭" * 40,
    "WeatherAgentTask", "TravelAgentTask", "WorkerAgentResponse", "WeatherAgentTaskConsumerGroup",
    "WorkerAgentResponseConsumerGroup", "%DLQ%TravelAgentTaskConsumerGroup", "task-1", "-1", "9" * 30,
    "../../etc/passwd", "%s%s%n", "<@U123>",
]
INTS = [0, 1, -1, 2, 7, 32, 33, 1000, 2**31 - 1, -(2**31), 2**62]


def random_message(cls: Any, rng: random.Random, depth: int = 0) -> Any:
    """An instance of the protobuf class ``cls`` with a random subset of its fields set."""
    message = cls()
    fill(message, rng, depth)
    return message


def fill(message: Any, rng: random.Random, depth: int) -> None:
    """Set a random subset of ``message``'s fields to random (often hostile) values."""
    for field in message.DESCRIPTOR.fields:
        if rng.random() < 0.35:
            continue
        if _is_map(field):
            entry = field.message_type
            target = getattr(message, field.name)
            for _ in range(rng.randint(0, 3)):
                key = _scalar(entry.fields_by_name["key"], rng)
                value_field = entry.fields_by_name["value"]
                if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                    fill(target[key], rng, depth + 1)
                else:
                    target[key] = _scalar(value_field, rng)
        elif _is_repeated(field):
            target = getattr(message, field.name)
            for _ in range(rng.randint(0, 3)):
                if field.type == FieldDescriptor.TYPE_MESSAGE:
                    if depth < 4:
                        fill(target.add(), rng, depth + 1)
                else:
                    target.append(_scalar(field, rng))
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            if depth < 4:
                _fill_sub(getattr(message, field.name), field, rng, depth + 1)
                # an empty sub-message is still "set" (HasField) once touched
                getattr(message, field.name).SetInParent()
        else:
            setattr(message, field.name, _scalar(field, rng))


def _fill_sub(sub: Any, field: FieldDescriptor, rng: random.Random, depth: int) -> None:
    name = field.message_type.full_name
    if name == "google.protobuf.Duration":
        sub.seconds = rng.choice([0, 1, 5, 10, 15, 30, 3600, -5, 10**6])
        sub.nanos = rng.choice([0, 500_000_000])
    elif name == "google.protobuf.Timestamp":
        sub.seconds = rng.choice([0, 1, 1_700_000_000, 4_000_000_000, -100])
    else:
        fill(sub, rng, depth)


def _scalar(field: FieldDescriptor, rng: random.Random) -> Any:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return rng.choice(STRINGS)
    if kind == FieldDescriptor.TYPE_BYTES:
        return rng.choice([b"", b"x", rng.randbytes(rng.randint(1, 256))])
    if kind == FieldDescriptor.TYPE_BOOL:
        return rng.random() < 0.5
    if kind == FieldDescriptor.TYPE_ENUM:
        known = [v.number for v in field.enum_type.values]
        return rng.choice([*known, *known, 99, 1000, -3])  # proto3 keeps unknown numbers
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return rng.choice([0.0, 1.5, -1.0, 1e300 if kind == FieldDescriptor.TYPE_DOUBLE else 1e30])
    value = rng.choice(INTS)
    if kind in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
        return abs(value) % 2**32
    if kind in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        return abs(value)
    if kind in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32):
        return max(min(value, 2**31 - 1), -(2**31))
    return value


def _is_repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def _is_map(field: FieldDescriptor) -> bool:
    return _is_repeated(field) and field.type == FieldDescriptor.TYPE_MESSAGE and \
        field.message_type.GetOptions().map_entry
