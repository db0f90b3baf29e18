import NIOCore
import TraceTailCore

/// Sends spans to LangSmith as runs (`POST {endpoint}/runs/batch`, `x-api-key`). Spans are gathered per trace
/// until it is quiet, so that each run can name its root (`trace_id`) and carry its `dotted_order`.
public struct LangSmithOutput: GatheringOutput {
    public struct Configuration: Decodable, Sendable {
        public var endpoint = "https://api.smith.langchain.com"
        public var apiKey: Secret
        public var project = "default"
        public var traceQuiet = ConfigDuration.seconds(2)
        public var http: HTTPSettings

        enum CodingKeys: String, CodingKey {
            case endpoint, project
            case apiKey = "api_key"
            case traceQuiet = "trace_quiet"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            endpoint = try container.decodeIfPresent(EndpointURL.self, forKey: .endpoint)?.value ?? endpoint
            apiKey = try container.decode(Secret.self, forKey: .apiKey)
            try container.decode(.project, into: &project)
            try container.decode(.traceQuiet, into: &traceQuiet)
            var defaults = HTTPSettings()
            defaults.compression = .none
            defaults.batchSpans = 500
            defaults.batchBytes = .mebibytes(16) // the service's default limit is 20 MiB
            http = try HTTPSettings(from: decoder, defaults: defaults)
        }
    }

    public static let kind = "langsmith"
    public static let summary = "Spans to LangSmith as runs (runs/batch), with trace ids and dotted order."
    public static let options = [
        PluginOption("endpoint", "URL", default: "https://api.smith.langchain.com", "Requests go to {endpoint}/runs/batch."),
        PluginOption("api_key", "secret", "Sent as x-api-key."),
        PluginOption("project", "string", default: "default", "The LangSmith project (session_name)."),
        PluginOption("trace_quiet", "duration", default: "2s", "A trace's runs are sent once no span joined it for this long."),
    ] + HTTPSettings.options

    public let accumulator: RecordAccumulator
    public let delivery: RequestDelivery

    public init(configuration: Configuration, context: PluginContext) {
        let sender = HTTPSender(url: configuration.endpoint + "/runs/batch", settings: configuration.http,
                                headers: [("x-api-key", configuration.apiKey.value)], context: context)
        let project = configuration.project
        let delivery = RequestDelivery(sender: sender, context: context) { records in
            (ByteBuffer(bytes: RunsPayload.encode(records, project: project)), "application/json")
        }
        self.delivery = delivery
        accumulator = RecordAccumulator(settings: configuration.http, quiet: configuration.traceQuiet.duration, delivery: delivery)
    }

}

/// The `runs/batch` body for spans of one trace (WIRE.md §5).
enum RunsPayload {
    static func encode(_ records: some Collection<Record>, project: String) -> [UInt8] {
        let bySpan = Dictionary(records.compactMap { record in record.spanID.map { ($0, record) } }, uniquingKeysWith: { first, _ in first })
        var writer = JSONWriter(capacity: 1024 * records.count)
        writer.object { body in
            body("post") { $0.array(records) { run(&$0, $1, bySpan, project) } }
        }
        return writer.bytes
    }

    /// The chain from the trace's root (as far as this trace shows it) down to the record.
    static func lineage(_ record: Record, _ bySpan: [SpanID: Record]) -> [Record] {
        var chain = [record]
        var seen: Set<SpanID> = record.spanID.map { [$0] } ?? []
        while let parent = chain.last?.parentSpanID, let next = bySpan[parent], seen.insert(parent).inserted {
            chain.append(next)
        }
        return chain.reversed()
    }

    static func run(_ writer: inout JSONWriter, _ record: Record, _ bySpan: [SpanID: Record], _ project: String) {
        let chain = lineage(record, bySpan)
        let root = chain[0]
        writer.object { run in
            run.string("id", runID(record))
            run.string("name", record.name ?? "")
            run.string("run_type", runType(record))
            run.string("trace_id", runID(root))
            if chain.count > 1 { run.string("parent_run_id", runID(chain[chain.count - 2])) }
            run.string("dotted_order", chain.map { dottedSegment($0) }.joined(separator: "."))
            run.string("session_name", project)
            run.string("start_time", Timestamp.rfc3339(nanoseconds: start(record), fractionDigits: 6))
            run.string("end_time", Timestamp.rfc3339(nanoseconds: record.endTime ?? start(record), fractionDigits: 6))
            run("inputs") { payload(&$0, record.input, key: "input") }
            run("outputs") { writer in
                writer.object { outputs in
                    if let output = record.output { outputs("output") { SpanJSON.payload(output, &$0) } }
                    if case .int(let input)? = record.attributes["gen_ai.usage.input_tokens"],
                       case .int(let output)? = record.attributes["gen_ai.usage.output_tokens"] {
                        outputs("usage_metadata") { writer in
                            writer.object {
                                $0.int("input_tokens", input)
                                $0.int("output_tokens", output)
                                $0.int("total_tokens", input + output)
                            }
                        }
                    }
                }
            }
            run("extra") { writer in
                writer.object { extra in
                    extra("metadata") { writer in
                        writer.object { metadata in
                            if case .string(let provider)? = record.attributes["gen_ai.provider.name"] { metadata.string("ls_provider", provider) }
                            if case .string(let model)? = record.attributes["gen_ai.request.model"] { metadata.string("ls_model_name", model) }
                            for (key, value) in record.attributes { metadata(key) { SpanJSON.attribute(value, &$0) } }
                            // The resource (the pod the run came from) is run metadata too: runs have no resource.
                            for (key, value) in record.resource?.attributes ?? Attributes() where record.attributes[key] == nil {
                                metadata(key) { SpanJSON.attribute(value, &$0) }
                            }
                            if let cost = record.cost { metadata.double("cost", cost) }
                        }
                    }
                }
            }
            if case .error(let message, let stacktrace) = record.status {
                run.string("error", ([message] + stacktrace).joined(separator: "\n"))
            }
            if case .array(let labels)? = record.attributes["langwatch.labels"] {
                run("tags") { $0.array(labels) { SpanJSON.attribute($1, &$0) } }
            }
        }
    }

    static func start(_ record: Record) -> UInt64 { record.startTime ?? record.observedTime }

    /// `inputs`: an object as it is, chat messages under `messages`, anything else under `key`.
    static func payload(_ writer: inout JSONWriter, _ payload: SpanPayload?, key: String) {
        writer.object { object in
            switch payload {
            case .json(.object(let members))?:
                for (name, value) in members { object.value(name, value) }
            case .json(let value)? where TypedValue.isChat(value):
                object.value("messages", value)
            case let payload?:
                object(key) { SpanJSON.payload(payload, &$0) }
            case nil:
                break
            }
        }
    }

    /// LangSmith's run types from LangWatch's span types.
    static func runType(_ record: Record) -> String {
        if case .string("embeddings")? = record.attributes["gen_ai.operation.name"] { return "embedding" }
        switch record.type ?? .span {
        case .llm: return "llm"
        case .tool: return "tool"
        case .rag: return "retriever"
        default: return "chain"
        }
    }

    /// A UUID derived from the span's trace and span ids: the same span always becomes the same run.
    static func runID(_ record: Record) -> String {
        let key = Array("\(record.traceID?.description ?? "")/\(record.spanID?.description ?? "")".utf8)
        var high = StableHash.hash(key, seed: 0x4c53_5275_6e49_6448)
        var low = StableHash.hash(key, seed: 0x4c53_5275_6e49_644c)
        high = (high & ~0xF000) | 0x8000 // version 8: custom
        low = (low & ~(0b11 << 62)) | (0b10 << 62) // RFC 4122 variant
        let hex = String(high, radix: 16).leftPadded(16) + String(low, radix: 16).leftPadded(16)
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }

    /// `%Y%m%dT%H%M%S%fZ` of the run's start, then its id.
    static func dottedSegment(_ record: Record) -> String {
        let time = Timestamp.rfc3339(nanoseconds: start(record), fractionDigits: 6)
            .replacingOccurrences("-", "").replacingOccurrences(":", "").replacingOccurrences(".", "")
        return time + runID(record)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }

    func replacingOccurrences(_ target: Character, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
