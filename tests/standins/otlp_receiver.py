"""Stand-in for an OpenTelemetry collector: OTLP/HTTP traces (``POST /v1/traces``, protobuf).

Decodes each ExportTraceServiceRequest as a collector would and keeps the spans, so a test can follow
one request's trace across hops. Point the exporter at ``receiver.origin``.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.standins.scripted_http import ScriptedServer


@dataclass(frozen=True)
class ReceivedSpan:
    """One exported span, ids in hex."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    service: str


class OtlpReceiver(ScriptedServer):
    """``async with OtlpReceiver() as receiver``; ``receiver.spans`` grows as exports arrive."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[ReceivedSpan] = []

    def routes(self, app: web.Application) -> None:
        """The OTLP/HTTP traces endpoint."""
        app.router.add_post("/v1/traces", self._export)

    async def _export(self, request: web.Request) -> web.Response:
        if request.content_type != "application/x-protobuf":
            return web.Response(status=415)
        export = ExportTraceServiceRequest.FromString(await request.read())
        for resource_spans in export.resource_spans:
            service = next((a.value.string_value for a in resource_spans.resource.attributes
                            if a.key == "service.name"), "")
            for scope in resource_spans.scope_spans:
                self.spans.extend(
                    ReceivedSpan(s.name, s.trace_id.hex(), s.span_id.hex(), s.parent_span_id.hex(), service)
                    for s in scope.spans
                )
        self.arrived.set()
        return web.Response(body=ExportTraceServiceResponse().SerializeToString(),
                            content_type="application/x-protobuf")

    def named(self, prefix: str) -> list[ReceivedSpan]:
        """The spans whose name starts with ``prefix``."""
        return [s for s in self.spans if s.name.startswith(prefix)]
