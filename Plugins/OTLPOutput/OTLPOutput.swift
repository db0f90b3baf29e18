import Logging
import NIOCore
import TraceTailCore
#if canImport(Glibc)
import Glibc
#endif

/// Sends spans to any OTLP/HTTP endpoint — an OpenTelemetry Collector gateway, LangWatch's `/api/otel/v1/traces`,
/// or LangWatch's governance ingest (`…/api/ingest/otel/<sourceId>` with a `lw_is_…` bearer secret).
public final class OTLPOutput: GatheringOutput {
    public enum Encoding: String, ConfigChoice {
        case protobuf, json
    }

    public struct Configuration: Decodable, Sendable {
        /// The full URL requests are posted to.
        public var endpoint: String
        public var encoding = Encoding.protobuf
        public var bearerSecret: Secret?
        public var serviceName = "tracetail"
        public var resource: [String: String] = [:]
        public var conventions = SpanConventions.standard
        public var http = HTTPSettings()

        enum CodingKeys: String, CodingKey {
            case endpoint, encoding, resource, conventions
            case bearerSecret = "bearer_secret"
            case bearerSecretFile = "bearer_secret_file"
            case serviceName = "service_name"
        }

        /// The governance ingest endpoint: a 60 requests/minute budget, a `lw_is_` secret, always-202 replies.
        public var isGovernanceIngest: Bool { endpoint.contains("/api/ingest/otel/") }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            endpoint = try container.decode(EndpointURL.self, forKey: .endpoint).value
            try container.decode(.encoding, into: &encoding)
            bearerSecret = try container.decodeSecret(.bearerSecret, file: .bearerSecretFile)
            try container.decode(.serviceName, into: &serviceName)
            try container.decode(.resource, into: &resource)
            try container.decode(.conventions, into: &conventions)
            var defaults = HTTPSettings()
            if endpoint.contains("/api/ingest/otel/") {
                // 60 requests a minute: few, large requests.
                defaults.concurrency = 1
                defaults.batchSpans = 5000
                defaults.batchBytes = .mebibytes(8)
                defaults.batchWait = .seconds(5)
                guard let secret = bearerSecret?.value, secret.hasPrefix("lw_is_") else {
                    throw ConfigValueError("the governance ingest endpoint takes a bearer_secret starting with lw_is_",
                                           codingPath: container.codingPath + [CodingKeys.bearerSecret])
                }
            }
            http = try HTTPSettings(from: decoder, defaults: defaults)
        }
    }

    public static let kind = "otlp"
    public static let summary = "Spans to any OTLP/HTTP endpoint (protobuf or JSON), incl. LangWatch's governance ingest."
    public static let options = [
        PluginOption("endpoint", "URL", "The full URL, e.g. http://collector:4318/v1/traces or https://app.langwatch.ai/api/ingest/otel/<sourceId>."),
        PluginOption("encoding", Encoding.choices, default: "protobuf", "application/x-protobuf, or application/json exactly."),
        PluginOption("bearer_secret", "secret", default: "none", "Sent as Authorization: Bearer (lw_is_… for the governance ingest)."),
        PluginOption("bearer_secret_file", "path", default: "none", "Read the bearer secret from this file (a mounted Kubernetes secret)."),
        PluginOption("service_name", "string", default: "tracetail", "The service.name resource attribute."),
        PluginOption("resource", "mapping", default: "{}", "More resource attributes (host.name is added)."),
        PluginOption("conventions", "list of " + SpanConventions.Name.choices, default: "[genai, langwatch]",
                     "The conventions whose attributes are written besides the record's own; openinference adds input.value, output.value, openinference.span.kind and llm.* for Arize Phoenix."),
    ] + HTTPSettings.options

    public let accumulator: RecordAccumulator
    public let delivery: RequestDelivery

    public init(configuration: Configuration, context: PluginContext) {
        var headers: [(String, String)] = []
        if let secret = configuration.bearerSecret { headers.append(("Authorization", "Bearer \(secret.value)")) }
        let sender = HTTPSender(url: configuration.endpoint, settings: configuration.http, headers: headers, context: context)
        let encoding = OTLPEncoding(configuration: configuration)
        let delivery = RequestDelivery(
            sender: sender, context: context,
            budget: configuration.isGovernanceIngest ? RequestBudget(requests: 60, per: .seconds(60)) : nil,
            inspect: { encoding.inspect($0) }, encode: { encoding.encode($0) })
        self.delivery = delivery
        accumulator = RecordAccumulator(settings: configuration.http, delivery: delivery)
    }

}

/// The OTLP request bodies and the reading of replies.
struct OTLPEncoding: Sendable {
    let configuration: OTLPOutput.Configuration
    let resource: [(key: String, value: AttributeValue)]

    init(configuration: OTLPOutput.Configuration) {
        self.configuration = configuration
        var resource: [(key: String, value: AttributeValue)] = [("service.name", .string(configuration.serviceName))]
        resource.append(("host.name", .string(Self.hostName())))
        for (key, value) in configuration.resource.sorted(by: { $0.key < $1.key }) { resource.append((key, .string(value))) }
        self.resource = resource
    }

    /// The request body and its exact content type.
    func encode(_ records: RecordSelection) -> (body: ByteBuffer, contentType: String) {
        switch configuration.encoding {
        case .json:
            return (OTLPJSON.request(records, resource: resource, scope: OTLPScope(), conventions: configuration.conventions),
                    "application/json")
        case .protobuf:
            return (OTLPProtobuf.request(records, resource: resource, scope: OTLPScope(), conventions: configuration.conventions),
                    "application/x-protobuf")
        }
    }

    /// Reads what an accepted request really took: `partialSuccess` (JSON or protobuf), and the governance
    /// ingest's always-202 reply whose `events` says whether anything was ingested.
    func inspect(_ reply: HTTPSender.Reply) -> Verdict? {
        guard (200..<300).contains(reply.status) else { return nil }
        let json = try? JSONReader.parse(reply.body)
        if configuration.isGovernanceIngest {
            guard let json else { return .permanent(reason: "\(reply.status) with an unreadable reply: \(reply.text.prefix(200))") }
            let hint = json["hint"].flatMap { if case .string(let text) = $0 { text } else { nil } }
            if case .int(0)? = json["events"] {
                return .permanent(reason: "the ingest endpoint took no spans: \(hint ?? reply.text.prefix(300).description)")
            }
            if case .int(let count)? = json["rejectedSpans"], count > 0 {
                return .accepted(rejected: Int(count), message: hint)
            }
            return .accepted(rejected: 0, message: nil)
        }
        if let partial = json?["partialSuccess"] {
            let count: Int64
            switch partial["rejectedSpans"] {
            case .int(let number)?: count = number
            case .string(let text)?: count = Int64(text) ?? 0
            default: count = 0
            }
            let message = partial["errorMessage"].flatMap { if case .string(let text) = $0 { text } else { nil } }
            return .accepted(rejected: Int(count), message: message)
        }
        if json == nil, !reply.body.isEmpty, let partial = try? Self.partialSuccess(protobuf: reply.body) {
            return .accepted(rejected: partial.rejected, message: partial.message)
        }
        return .accepted(rejected: 0, message: nil)
    }

    /// A protobuf ExportTraceServiceResponse's partial_success (1): rejected_spans (1), error_message (2); nil
    /// when the reply has none.
    static func partialSuccess(protobuf body: [UInt8]) throws -> (rejected: Int, message: String)? {
        var result: (rejected: Int, message: String)?
        try ProtobufReader(body).forEach(1) { partial in
            var partial = partial
            var rejected = 0
            var message = ""
            while let field = try partial.next() {
                switch field.number {
                case 1: rejected = Int(truncatingIfNeeded: try partial.varint(field))
                case 2: message = try partial.string(field)
                default: try partial.skip(field)
                }
            }
            result = (rejected, message)
        }
        return result
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
