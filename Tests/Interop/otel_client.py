"""The OpenTelemetry Python SDK as a client of TraceTail's webhook relay (Tests/EndToEndTests/InteropTests.swift).

Builds a small agent trace with attributes of every kind, events and statuses, exports it to <base>/v1/traces and
prints, as JSON on stdout, the spans as the SDK finished them (ids in hex), for the test to compare with what
arrived downstream.

    python otel_client.py <base URL> <bearer token> protobuf|json|json-proto-names
protobuf: the SDK's own OTLP/HTTP exporter. json, json-proto-names: the SDK's own OTLP encoding written by
protobuf's json_format (lowerCamelCase or original field names, base64 ids, enum names), as a proto3 JSON client.
"""
import sys
import urllib.request

from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from finished_spans import print_spans

base, token, mode = sys.argv[1], sys.argv[2], sys.argv[3]
headers = {"Authorization": f"Bearer {token}"}


class JSONExporter(SpanExporter):
    """Posts the SDK's ExportTraceServiceRequest as proto3 JSON; any reply but 200 fails the run."""

    def export(self, spans):
        request = encode_spans(spans)
        body = json_format.MessageToJson(request, preserving_proto_field_name=(mode == "json-proto-names"))
        post = urllib.request.Request(base + "/v1/traces", data=body.encode(), method="POST",
                                      headers={**headers, "Content-Type": "application/json"})
        with urllib.request.urlopen(post, timeout=30) as reply:
            if reply.status != 200:
                raise SystemExit(f"the relay answered {reply.status}")
        return SpanExportResult.SUCCESS

    def shutdown(self):
        pass


exporter = OTLPSpanExporter(endpoint=base + "/v1/traces", headers=headers, timeout=30) if mode == "protobuf" else JSONExporter()
recorded = InMemorySpanExporter()
provider = TracerProvider(resource=Resource.create({"service.name": "otel-python-client", "deployment.environment": "test"}))
provider.add_span_processor(SimpleSpanProcessor(recorded))
provider.add_span_processor(SimpleSpanProcessor(exporter))
tracer = provider.get_tracer("interop")

with tracer.start_as_current_span(f"invoke_agent planner {mode}", kind=SpanKind.SERVER,
                                  attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"}) as agent:
    agent.set_attribute("flag", True)
    agent.set_attribute("count", -42)
    agent.set_attribute("big", 2**62)
    agent.set_attribute("ratio", 0.25)
    agent.set_attribute("text", "résumé ✓ \"quoted\"\n")
    agent.set_attribute("empty", "")
    agent.set_attribute("strings", ["a", "b"])
    agent.set_attribute("ints", [1, -2, 3])
    agent.set_attribute("doubles", [0.5, 1e300])
    agent.set_attribute("bools", [True, False])
    with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT) as chat:
        chat.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                             "gen_ai.usage.input_tokens": 18, "gen_ai.usage.output_tokens": 1})
        chat.add_event("gen_ai.choice", {"index": 0, "finish_reason": "stop"})
        chat.set_status(Status(StatusCode.OK))
    with tracer.start_as_current_span("execute_tool search", kind=SpanKind.INTERNAL) as tool:
        tool.set_attribute("gen_ai.tool.name", "search")
        tool.record_exception(TimeoutError("search timed out"))
        tool.set_status(Status(StatusCode.ERROR, "search timed out"))
provider.shutdown()


print_spans(recorded.get_finished_spans())
