"""The LangWatch Python SDK as a client of TraceTail's webhook relay (Tests/EndToEndTests/InteropTests.swift).

The SDK exports OTLP/HTTP protobuf to <endpoint>/api/otel/v1/traces. Traces an LLM call and a tool inside a
workflow, then prints, as JSON on stdout, the spans as the SDK finished them (ids in hex).

    python langwatch_client.py <endpoint URL> <api key>
"""
import json
import sys

import langwatch
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

endpoint, api_key = sys.argv[1], sys.argv[2]
recorded = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(recorded))
langwatch.setup(api_key=api_key, endpoint_url=endpoint, tracer_provider=provider)


@langwatch.trace(name="answer question", metadata={"user_id": "u-42", "thread_id": "th-7", "labels": ["interop"]})
def answer():
    with langwatch.span(type="llm", name="chat gpt-4o", model="gpt-4o",
                        input=[{"role": "user", "content": "What is 2+2?"}], output="4",
                        params={"temperature": 0.2}, metrics={"prompt_tokens": 18, "completion_tokens": 1, "cost": 0.000004}):
        pass
    with langwatch.span(type="tool", name="search", input={"query": "2+2"}) as tool:
        tool.update(output={"result": 4})
    return "4"


answer()
provider.force_flush()
provider.shutdown()


def value(attribute):
    return list(attribute) if isinstance(attribute, tuple) else attribute


print(json.dumps([{
    "trace_id": format(span.context.trace_id, "032x"),
    "span_id": format(span.context.span_id, "016x"),
    "parent_id": format(span.parent.span_id, "016x") if span.parent else None,
    "name": span.name,
    "kind": span.kind.value,
    "start": span.start_time,
    "end": span.end_time,
    "attributes": {key: value(item) for key, item in span.attributes.items()},
    "resource": {key: value(item) for key, item in span.resource.attributes.items()},
    "events": [{"name": event.name, "time": event.timestamp,
                "attributes": {key: value(item) for key, item in event.attributes.items()}} for event in span.events],
    "status": {"code": span.status.status_code.value, "message": span.status.description or ""},
} for span in recorded.get_finished_spans()]))
