import TraceTailCore

/// Reads a LangWatch collector request (WIRE.md §1.3) into span records, so that an app already posting to
/// `/api/collector` can post to the sidecar instead. Every field has a place the `langwatch` output writes back
/// from: typed span fields, `gen_ai.*` attributes, `langwatch.metadata.<key>`, and for what belongs to the whole
/// trace (evaluations, expected output) attributes on the first span.
enum CollectorSpans {
    /// Metric and param names and the attributes they become.
    static let metricAttributes = [
        "prompt_tokens": "gen_ai.usage.input_tokens", "completion_tokens": "gen_ai.usage.output_tokens",
        "reasoning_tokens": "gen_ai.usage.reasoning.output_tokens",
        "cache_read_input_tokens": "gen_ai.usage.cache_read.input_tokens",
        "cache_creation_input_tokens": "gen_ai.usage.cache_creation.input_tokens",
        "tokens_estimated": "langwatch.tokens_estimated",
    ]
    static let paramAttributes = [
        "temperature": "gen_ai.request.temperature", "max_tokens": "gen_ai.request.max_tokens",
        "top_p": "gen_ai.request.top_p", "stream": "gen_ai.request.stream", "seed": "gen_ai.request.seed",
        "stop": "gen_ai.request.stop_sequences",
    ]

    /// The request's spans as records; throws a message naming the field at fault.
    static func records(_ body: [UInt8], source: String) throws(RequestError) -> RecordBatch {
        let document: JSONValue
        do {
            document = try JSONReader.parse(body)
        } catch {
            throw .badRequest("invalid JSON: \(error)")
        }
        guard case .object(let members) = document else { throw .badRequest("expected a JSON object with 'spans'") }
        guard case .array(let spans)? = document["spans"] else { throw .badRequest("'spans' must be an array") }
        let topTrace = document["trace_id"].flatMap(\.text)
        var trace: [(String, AttributeValue)] = []
        if let metadata = document["metadata"] {
            guard case .object(let entries) = metadata else { throw .badRequest("'metadata' must be an object") }
            trace += metadataAttributes(entries)
        } else {
            // As the collector does: without `metadata`, these top-level keys are the metadata.
            trace += metadataAttributes(members.filter { ["thread_id", "user_id", "customer_id", "labels"].contains($0.key) })
        }
        var first: [(String, AttributeValue)] = []
        if let evaluations = document["evaluations"] {
            guard case .array = evaluations else { throw .badRequest("'evaluations' must be an array") }
            first.append(("langwatch.evaluations", .string(JSONFlattener.text(evaluations))))
        }
        if let expected = document["expected_output"], expected != .null { first.append(("langwatch.expected_output", .string(expected.keptText))) }

        var batch = RecordBatch(ack: AckToken(0))
        batch.arrivedAsSpans = true
        let now = Clock.nowNanoseconds
        var traceID: TraceID?
        for (index, span) in spans.enumerated() {
            let raw = Array(JSONFlattener.text(span).utf8)
            batch.append(raw, position: SourcePosition(source: source, offsets: UInt64(index)..<UInt64(index + 1)), observedTime: now)
            do throws(RequestError) {
                try fill(&batch.records[index], from: span, trace: topTrace)
            } catch {
                throw .badRequest("spans[\(index)]: \(error.message)")
            }
            if let traceID, batch.records[index].traceID != traceID { throw .badRequest("all spans must have the same trace id") }
            traceID = batch.records[index].traceID
            for (key, value) in trace + (index == 0 ? first : []) { batch.records[index].attributes[key] = value }
        }
        return batch
    }

    private static func fill(_ record: inout Record, from span: JSONValue, trace: String?) throws(RequestError) {
        guard case .object = span else { throw .badRequest("expected an object") }
        guard let spanID = (span["id"] ?? span["span_id"]).flatMap(\.text), !spanID.isEmpty else {
            throw .badRequest("'span_id' is required")
        }
        guard let traceText = span["trace_id"].flatMap(\.text) ?? trace, !traceText.isEmpty else {
            throw .badRequest("no trace id (give 'trace_id' on the request or the span)")
        }
        record.spanID = SpanID(hex: spanID) ?? SpanID(hashing: Array(spanID.utf8))
        record.traceID = TraceID(hex: traceText) ?? TraceID(hashing: Array(traceText.utf8))
        if let parent = span["parent_id"].flatMap(\.text), !parent.isEmpty {
            record.parentSpanID = SpanID(hex: parent) ?? SpanID(hashing: Array(parent.utf8))
        }
        guard let typeName = span["type"].flatMap(\.text), let type = SpanType(rawValue: typeName) else {
            throw .badRequest("'type' must be one of \(SpanType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        record.type = type
        if let name = span["name"], name != .null { record.name = name.keptText }
        record.input = try payload(span["input"], "input")
        record.output = try payload(span["output"], "output")
        guard case .int(let started)? = span["timestamps"]?["started_at"], case .int(let finished)? = span["timestamps"]?["finished_at"],
              started > 0, finished > 0 else {
            throw .badRequest("'timestamps.started_at' and 'finished_at' must be epoch milliseconds")
        }
        record.startTime = UInt64(started) * 1_000_000
        record.endTime = UInt64(finished) * 1_000_000
        if let firstTokenAt = span["timestamps"]?["first_token_at"], firstTokenAt != .null {
            guard case .int(let firstToken) = firstTokenAt else { throw .badRequest("'timestamps.first_token_at' must be epoch milliseconds") }
            record.attributes["gen_ai.response.time_to_first_chunk"] = .double(Double(firstToken - started) / 1000)
        }
        if let error = span["error"], error != .null {
            // An ErrorCapture ({message, stacktrace}); any other value is the message itself.
            let message = if case .object = error { error["message"].map(\.keptText) ?? "error" } else { error.keptText }
            let stacktrace: [String]
            switch error["stacktrace"] {
            case .array(let lines)?: stacktrace = lines.map(\.keptText)
            case nil, .null?: stacktrace = []
            case let other?: stacktrace = [other.keptText]
            }
            record.status = .error(message: message, stacktrace: stacktrace)
        }
        for (key, value) in try members(span["metrics"], "metrics") {
            if key == "cost", let cost = value.number {
                record.cost = cost
            } else {
                record.attributes[metricAttributes[key] ?? key] = JSONFlattener.attribute(value)
            }
        }
        for (key, value) in try members(span["params"], "params") {
            record.attributes[paramAttributes[key] ?? key] = JSONFlattener.attribute(value)
        }
        if let model = span["model"], model != .null { record.attributes["gen_ai.request.model"] = .string(model.keptText) }
        if let vendor = span["vendor"], vendor != .null { record.attributes["gen_ai.provider.name"] = .string(vendor.keptText) }
        if let contexts = span["contexts"] { record.attributes["langwatch.rag.contexts"] = .string(JSONFlattener.text(contexts)) }
    }

    /// An object's members; none when absent or null.
    private static func members(_ value: JSONValue?, _ field: String) throws(RequestError) -> [(key: String, value: JSONValue)] {
        switch value {
        case nil, .null?: return []
        case .object(let members)?: return members
        default: throw .badRequest("'\(field)' must be an object")
        }
    }

    /// A TypedValue as a span payload: text stays text, everything else keeps its JSON value.
    private static func payload(_ value: JSONValue?, _ field: String) throws(RequestError) -> SpanPayload? {
        guard let value, value != .null else { return nil }
        guard case .string(let type)? = value["type"], let inner = value["value"] else {
            throw .badRequest("'\(field)' must be a TypedValue ({\"type\": …, \"value\": …})")
        }
        if type == "text" || type == "raw", case .string(let text) = inner { return .text(text) }
        return .json(inner)
    }

    /// The trace metadata as attributes: the reserved ids and labels as LangWatch names them, any other key as
    /// `langwatch.metadata.<key>`.
    static func metadataAttributes(_ entries: [(key: String, value: JSONValue)]) -> [(String, AttributeValue)] {
        entries.compactMap { key, value in
            switch key {
            case "user_id", "thread_id", "customer_id":
                return value == .null ? nil : ("langwatch.\(key.dropLast(3)).id", .string(value.keptText))
            case "labels":
                switch value {
                case .string(let label): return ("langwatch.labels", .array([.string(label)]))
                case .array(let items): return ("langwatch.labels", .array(items.map { .string($0.keptText) }))
                case .object(let members):
                    return ("langwatch.labels", .array(members.map { .string("\($0.key): \($0.value.keptText)") }))
                case .null: return nil
                default: return ("langwatch.labels", .array([.string(value.keptText)]))
                }
            case "topic_id", "sdk_name", "prompt_ids": return nil // dropped by the collector too
            default: return ("langwatch.metadata.\(key)", JSONFlattener.attribute(value))
            }
        }
    }
}
