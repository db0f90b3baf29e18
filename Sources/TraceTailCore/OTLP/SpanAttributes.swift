/// What every trace output sends for a span besides its ids and times: the record's attributes plus LangWatch's
/// own (`langwatch.span.type`, `langwatch.input`/`output` as TypedValue JSON, `langwatch.span.cost`), in one place
/// so that the OTLP JSON and protobuf encodings cannot drift apart.
public enum SpanAttributes {
    /// Hands over the span's attributes in the order they are sent, without building a list.
    public static func forEach(_ record: Record, _ body: (String, AttributeValue) -> Void) {
        var labels: AttributeValue?
        let entries = record.attributes.entries
        for index in entries.indices { // by index: the entries are borrowed, not copied
            if entries[index].key == "langwatch.labels" { labels = entries[index].value } else { body(entries[index].key, entries[index].value) }
        }
        body("langwatch.span.type", .string((record.type ?? .span).rawValue))
        if let labels {
            // LangWatch reads labels as a JSON array in a string.
            var writer = JSONWriter()
            SpanJSON.attribute(labels, &writer)
            body("langwatch.labels", .string(writer.text))
        }
        if let input = record.input { body("langwatch.input", .string(TypedValue.json(input))) }
        if let output = record.output { body("langwatch.output", .string(TypedValue.json(output))) }
        if let cost = record.cost { body("langwatch.span.cost", .double(cost)) }
        if case .error(let message, _) = record.status { body("error.message", .string(message)) }
    }

    /// OTLP span kind: CLIENT for calls to a model, INTERNAL otherwise.
    public static func kind(_ record: Record) -> Int {
        record.type == .llm ? 3 : 1
    }
}

/// LangWatch's TypedValue (`{"type": …, "value": …}`) for a span input or output.
public enum TypedValue {
    /// Writes the TypedValue: text as `text`, a list of `{role, content}` objects as `chat_messages`, other JSON
    /// as `json`.
    public static func write(_ payload: SpanPayload, _ writer: inout JSONWriter) {
        writer.object { typed in
            switch payload {
            case .text(let text):
                typed.string("type", "text")
                typed.string("value", text)
            case .json(let value):
                typed.string("type", isChat(value) ? "chat_messages" : "json")
                typed.value("value", value)
            }
        }
    }

    /// The TypedValue as JSON text.
    public static func json(_ payload: SpanPayload) -> String {
        var writer = JSONWriter()
        write(payload, &writer)
        return writer.text
    }

    /// An array of objects that each have a string `role`.
    public static func isChat(_ value: JSONValue) -> Bool {
        guard case .array(let items) = value, !items.isEmpty else { return false }
        return items.allSatisfy { if case .string? = $0["role"] { true } else { false } }
    }
}
