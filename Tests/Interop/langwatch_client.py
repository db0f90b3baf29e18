"""The LangWatch Python SDK as a client of TraceTail's webhook relay (Tests/EndToEndTests/InteropTests.swift).

The SDK exports OTLP/HTTP protobuf to <endpoint>/api/otel/v1/traces. Traces an LLM call and a tool inside a
workflow, then prints, as JSON on stdout, the spans as the SDK finished them (ids in hex).

    python langwatch_client.py <endpoint URL> <api key>
"""
import sys

import langwatch
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from finished_spans import print_spans

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


print_spans(recorded.get_finished_spans())
