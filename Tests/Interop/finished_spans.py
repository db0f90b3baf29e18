"""What an SDK client recorded, printed as the JSON the interop tests compare the relayed spans with."""
import json


def value(attribute):
    return list(attribute) if isinstance(attribute, tuple) else attribute


def print_spans(spans):
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
    } for span in spans]))
