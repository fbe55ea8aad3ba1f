"""OpenTelemetry spans for every bus hop, with W3C trace context carried in each message.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set: then spans are exported over OTLP/HTTP (the SDK reads
the standard ``OTEL_*`` variables) and OpenTelemetry is imported on first use; when off nothing of it is
imported and :func:`span` costs one dictionary look-up. A published message carries the publishing span's
context as the user property ``traceparent`` (a message property rather than the protocol's
``trace_context`` system property, which the 5.1.2 client does not expose for writing), and a consumer's
span continues it, so one request is one trace across the Supervisor and the agents' processes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
TRACEPARENT = "traceparent"  # the W3C header's name, used as the message property's key
SERVICE = "tourguide"

_state: dict[str, Any] = {}  # "tracer": the tracer once configured; "off": True when tracing is off


def _tracer() -> Any:
    tracer = _state.get("tracer")
    if tracer is not None or _state.get("off"):
        return tracer
    if not os.environ.get(ENDPOINT_ENV):
        _state["off"] = True
        return None
    return configure(None)


def configure(endpoint: str | None, service: str = SERVICE) -> Any:
    """Export spans to ``endpoint`` (an OTLP/HTTP base URL; None: as the ``OTEL_EXPORTER_OTLP_*`` variables
    say, ``..._TRACES_ENDPOINT`` included) from now on; returns the tracer."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    shutdown()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces") if endpoint else OTLPSpanExporter()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    _state.clear()
    _state["provider"] = provider
    _state["tracer"] = provider.get_tracer("tourguide")
    return _state["tracer"]


def flush() -> None:
    """Send the spans still buffered (a process about to exit, a test about to read the receiver)."""
    provider = _state.get("provider")
    if provider is not None:
        provider.force_flush()


def shutdown() -> None:
    """Flush and stop exporting; the next span reads the environment again."""
    provider = _state.pop("provider", None)
    if provider is not None:
        provider.shutdown()
    _state.clear()


@contextlib.contextmanager
def span(name: str, *, parent: str = "", kind: str = "internal", **attributes: str | int) -> Iterator[None]:
    """A span around the block, current inside it; ``parent`` is a ``traceparent`` to continue (a
    consumed message's). Does nothing when tracing is off."""
    tracer = _tracer()
    if tracer is None:
        yield
        return
    from opentelemetry.trace import SpanKind
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    context = TraceContextTextMapPropagator().extract({TRACEPARENT: parent}) if parent else None
    with tracer.start_as_current_span(name, context=context, kind=SpanKind[kind.upper()], attributes=attributes):
        yield


def traceparent() -> str:
    """The current span's context as a W3C ``traceparent`` value; empty when tracing is off or no span."""
    if _tracer() is None:
        return ""
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get(TRACEPARENT, "")


def parent_of(properties: Mapping[str, str] | None) -> str:
    """The ``traceparent`` a received message carries, if any."""
    return (properties or {}).get(TRACEPARENT, "")
