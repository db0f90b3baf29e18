/// TraceTail's own JSON form of a span, as `console` prints it with `format: json`.
public enum SpanJSON {
    /// Writes one record as a span object; `source` adds where it was read.
    public static func write(_ record: Record, to writer: inout JSONWriter, source: Bool = true) {
        writer.object { span in
            if let trace = record.traceID { span.string("trace_id", trace.description) }
            if let id = record.spanID { span.string("span_id", id.description) }
            if let parent = record.parentSpanID { span.string("parent_span_id", parent.description) }
            span.string("name", record.name ?? "")
            span.string("type", (record.type ?? .span).rawValue)
            if let start = record.startTime { span.int("start_time_unix_nano", start) }
            if let end = record.endTime { span.int("end_time_unix_nano", end) }
            switch record.status {
            case .unset: break
            case .ok: span("status") { $0.object { $0.string("code", "ok") } }
            case .error(let message, let stacktrace):
                span("status") { status in
                    status.object { fields in
                        fields.string("code", "error")
                        fields.string("message", message)
                        fields("stacktrace") { $0.array(stacktrace) { $0.string($1) } }
                    }
                }
            }
            if let cost = record.cost { span.double("cost", cost) }
            if let input = record.input { span("input") { payload(input, &$0) } }
            if let output = record.output { span("output") { payload(output, &$0) } }
            span("attributes") { writer in
                writer.object { attributes in
                    for (key, value) in record.attributes { attributes(key) { attribute(value, &$0) } }
                }
            }
            if source { span("source") { writer in
                writer.object { source in
                    source.string("name", record.position.source)
                    source.int("offset", record.position.offsets.lowerBound)
                }
            } }
        }
    }

    /// Writes an attribute value as plain JSON.
    public static func attribute(_ value: AttributeValue, _ writer: inout JSONWriter) {
        switch value {
        case .string(let text): writer.string(text)
        case .int(let number): writer.int(number)
        case .double(let number): writer.double(number)
        case .bool(let flag): writer.bool(flag)
        case .array(let items): writer.array(items) { attribute($1, &$0) }
        }
    }

    /// A payload as compact text: text as it is, JSON as JSON.
    public static func text(_ payload: SpanPayload) -> String {
        switch payload {
        case .text(let text): return text
        case .json(let value): return JSONFlattener.text(value)
        }
    }

    /// Writes a payload as plain JSON: text as a string.
    public static func payload(_ payload: SpanPayload, _ writer: inout JSONWriter) {
        switch payload {
        case .text(let text): writer.string(text)
        case .json(let value): writer.value(value)
        }
    }
}
