import NIOCore
import TraceTailCore

/// Sends traces to the LangWatch collector REST API (`POST {endpoint}/api/collector`): one trace per request,
/// at most 200 spans, sent once the trace has been quiet for `trace_quiet` (a span changed and re-sent under the
/// same id within an hour is discarded by the server, so each span goes once, when its trace is complete).
public struct LangWatchOutput: GatheringOutput {
    public struct Configuration: Decodable, Sendable {
        public var endpoint = "https://app.langwatch.ai"
        public var apiKey: Secret
        public var projectID: String?
        public var traceQuiet = ConfigDuration.seconds(2)
        public var http: HTTPSettings

        enum CodingKeys: String, CodingKey {
            case endpoint
            case apiKey = "api_key"
            case projectID = "project_id"
            case traceQuiet = "trace_quiet"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            endpoint = try container.decodeIfPresent(EndpointURL.self, forKey: .endpoint)?.value ?? endpoint
            apiKey = try container.decode(Secret.self, forKey: .apiKey)
            projectID = try container.decodeIfPresent(String.self, forKey: .projectID)
            try container.decode(.traceQuiet, into: &traceQuiet)
            var defaults = HTTPSettings()
            defaults.compression = .none // the collector does not decompress
            defaults.batchSpans = 200
            defaults.batchBytes = .mebibytes(8)
            defaults.batchWait = .seconds(30)
            http = try HTTPSettings(from: decoder, defaults: defaults)
            guard http.compression == .none else {
                throw ConfigValueError("the collector API does not accept compressed bodies", codingPath: container.codingPath)
            }
            http.batchSpans = min(http.batchSpans, 200)
        }
    }

    public static let kind = "langwatch"
    public static let summary = "Traces to the LangWatch collector API, one trace per request once it has been quiet."
    public static let options = [
        PluginOption("endpoint", "URL", default: "https://app.langwatch.ai", "LangWatch's address; requests go to {endpoint}/api/collector."),
        PluginOption("api_key", "secret", "The project API key (sent as X-Auth-Token and Authorization: Bearer)."),
        PluginOption("project_id", "string", default: "none", "Sent as X-Project-Id, for keys bound to several projects."),
        PluginOption("trace_quiet", "duration", default: "2s", "A trace is sent once no span joined it for this long (or when it has 200 spans)."),
    ] + HTTPSettings.options

    public let accumulator: RecordAccumulator
    public let delivery: RequestDelivery

    public init(configuration: Configuration, context: PluginContext) {
        var headers = [("X-Auth-Token", configuration.apiKey.value), ("Authorization", "Bearer \(configuration.apiKey.value)")]
        if let project = configuration.projectID { headers.append(("X-Project-Id", project)) }
        let sender = HTTPSender(url: configuration.endpoint + "/api/collector", settings: configuration.http, headers: headers, context: context)
        let delivery = RequestDelivery(sender: sender, context: context, inspect: CollectorPayload.inspect) { records in
            (ByteBuffer(bytes: CollectorPayload.encode(records)), "application/json")
        }
        self.delivery = delivery
        accumulator = RecordAccumulator(settings: configuration.http, quiet: configuration.traceQuiet.duration, delivery: delivery)
    }

}

/// The collector request body (WIRE.md §1.3) for spans of one trace.
enum CollectorPayload {
    /// A "Too many spans" 429 means split, not wait; `partialSuccess` counts what was refused.
    @Sendable static func inspect(_ reply: HTTPSender.Reply) -> Verdict? {
        if reply.status == 429, reply.text.contains("Too many spans") { return .split(reason: reply.text) }
        guard (200..<300).contains(reply.status), let partial = (try? JSONReader.parse(reply.body))?["partialSuccess"] else { return nil }
        guard case .int(let count)? = partial["rejectedSpans"] else { return nil }
        let message = partial["errorMessage"].flatMap { if case .string(let text) = $0 { text } else { nil } }
        return .accepted(rejected: Int(count), message: message)
    }

    /// Attributes that have a field of their own in a collector span or in the trace metadata.
    static let placed: Set<String> = [
        "gen_ai.request.model", "gen_ai.provider.name", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
        "gen_ai.usage.reasoning.output_tokens", "gen_ai.request.temperature", "gen_ai.request.max_tokens",
        "gen_ai.request.top_p", "gen_ai.request.stream", "gen_ai.request.seed", "gen_ai.request.stop_sequences",
        "langwatch.user.id", "langwatch.thread.id", "langwatch.customer.id", "langwatch.labels",
        "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_creation.input_tokens", "langwatch.tokens_estimated",
        "gen_ai.response.time_to_first_chunk", "langwatch.rag.contexts", "langwatch.evaluations", "langwatch.expected_output",
    ]

    /// Trace metadata keys other than the reserved ones travel as `langwatch.metadata.<key>` attributes.
    static let metadataPrefix = "langwatch.metadata."

    static func isPlaced(_ key: String) -> Bool { placed.contains(key) || key.hasPrefix(metadataPrefix) }

    /// JSON text an attribute holds (contexts, evaluations), parsed.
    static func json(_ record: Record, _ attribute: String) -> JSONValue? {
        guard case .string(let text)? = record.attributes[attribute] else { return nil }
        return try? JSONReader.parse(Array(text.utf8))
    }

    static func encode(_ records: some Collection<Record>) -> [UInt8] {
        var writer = JSONWriter(capacity: 1024 * records.count)
        writer.object { body in
            body.string("trace_id", records.first?.traceID?.description ?? "")
            body("spans") { $0.array(records) { span(&$0, $1) } }
            body("metadata") { writer in
                writer.object { metadata in
                    for (field, attribute) in [("user_id", "langwatch.user.id"), ("thread_id", "langwatch.thread.id"),
                                               ("customer_id", "langwatch.customer.id")] {
                        if let value = records.lazy.compactMap({ $0.attributes[attribute] }).first, case .string(let text) = value {
                            metadata.string(field, text)
                        }
                    }
                    let labels = records.flatMap { record -> [String] in
                        guard case .array(let items)? = record.attributes["langwatch.labels"] else { return [] }
                        return items.compactMap { if case .string(let label) = $0 { label } else { nil } }
                    }
                    if !labels.isEmpty {
                        var seen = Set<String>()
                        metadata("labels") { $0.array(labels.filter { seen.insert($0).inserted }) { $0.string($1) } }
                    }
                    var written = Set<String>()
                    for record in records {
                        for (key, value) in record.attributes where key.hasPrefix(metadataPrefix) {
                            let name = String(key.dropFirst(metadataPrefix.count))
                            if written.insert(name).inserted { metadata(name) { SpanJSON.attribute(value, &$0) } }
                        }
                    }
                    // The trace's resources (the pod it came from) are trace metadata: the collector API has no resource.
                    for record in records {
                        for (key, value) in record.resource?.attributes ?? Attributes() where written.insert(key).inserted {
                            metadata(key) { SpanJSON.attribute(value, &$0) }
                        }
                    }
                }
            }
            let evaluations = records.flatMap { json($0, "langwatch.evaluations")?.items ?? [] }
            if !evaluations.isEmpty { body("evaluations") { $0.array(evaluations) { $0.value($1) } } }
            if let expected = records.lazy.compactMap({ record -> String? in
                if case .string(let text)? = record.attributes["langwatch.expected_output"] { text } else { nil }
            }).first {
                body.string("expected_output", expected)
            }
        }
        return writer.bytes
    }

    static func span(_ writer: inout JSONWriter, _ record: Record) {
        writer.object { span in
            span.string("span_id", record.spanID?.description ?? "")
            span.string("trace_id", record.traceID?.description ?? "")
            if let parent = record.parentSpanID { span.string("parent_id", parent.description) }
            let type = record.type ?? .span
            span.string("type", type.rawValue)
            span.string("name", record.name ?? "")
            if let input = record.input { span("input") { TypedValue.write(input, &$0) } }
            if let output = record.output { span("output") { TypedValue.write(output, &$0) } }
            if type == .llm {
                if case .string(let model)? = record.attributes["gen_ai.request.model"] { span.string("model", model) }
                if case .string(let vendor)? = record.attributes["gen_ai.provider.name"] { span.string("vendor", vendor) }
            }
            span("params") { writer in
                writer.object { params in
                    for (field, attribute) in [("temperature", "gen_ai.request.temperature"), ("max_tokens", "gen_ai.request.max_tokens"),
                                               ("top_p", "gen_ai.request.top_p"), ("stream", "gen_ai.request.stream"),
                                               ("seed", "gen_ai.request.seed"), ("stop", "gen_ai.request.stop_sequences")] {
                        if let value = record.attributes[attribute] { params(field) { SpanJSON.attribute(value, &$0) } }
                    }
                    // Every other attribute rides along in params: the collector deletes unknown span keys.
                    for (key, value) in record.attributes where !isPlaced(key) {
                        params(key) { SpanJSON.attribute(value, &$0) }
                    }
                }
            }
            span("metrics") { writer in
                writer.object { metrics in
                    for (field, attribute) in [("prompt_tokens", "gen_ai.usage.input_tokens"), ("completion_tokens", "gen_ai.usage.output_tokens"),
                                               ("reasoning_tokens", "gen_ai.usage.reasoning.output_tokens"),
                                               ("cache_read_input_tokens", "gen_ai.usage.cache_read.input_tokens"),
                                               ("cache_creation_input_tokens", "gen_ai.usage.cache_creation.input_tokens")] {
                        if case .int(let count)? = record.attributes[attribute] { metrics.int(field, count) }
                    }
                    if case .bool(let estimated)? = record.attributes["langwatch.tokens_estimated"] {
                        metrics.bool("tokens_estimated", estimated)
                    }
                    if let cost = record.cost { metrics.double("cost", cost) }
                }
            }
            span("timestamps") { writer in
                writer.object { timestamps in
                    let start = milliseconds(record.startTime, fallback: record.observedTime)
                    timestamps.int("started_at", start)
                    timestamps.int("finished_at", max(start, milliseconds(record.endTime, fallback: record.observedTime)))
                    if case .double(let seconds)? = record.attributes["gen_ai.response.time_to_first_chunk"], seconds >= 0 {
                        timestamps.int("first_token_at", start + UInt64((seconds * 1000).rounded()))
                    }
                }
            }
            if let contexts = json(record, "langwatch.rag.contexts") { span.value("contexts", contexts) }
            if case .error(let message, let stacktrace) = record.status {
                span("error") { writer in
                    writer.object { error in
                        error.string("message", message)
                        error("stacktrace") { $0.array(stacktrace) { $0.string($1) } } // required, [] allowed
                    }
                }
            }
        }
    }

    /// Epoch milliseconds with exactly 13 digits, as the collector demands; a time outside that range (before
    /// 2001 or after 2286) is replaced by when the record was read.
    static func milliseconds(_ nanoseconds: UInt64?, fallback: UInt64) -> UInt64 {
        let value = (nanoseconds ?? fallback) / 1_000_000
        return (1_000_000_000_000..<10_000_000_000_000).contains(value) ? value : fallback / 1_000_000
    }
}
