import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwiftProtobuf
import Synchronization
import TraceTailCore

/// A real HTTP server on 127.0.0.1 that plays LangWatch's OTLP receivers and any OTLP endpoint, with the servers'
/// validation rules from WIRE.md (auth, exact content types, camelCase keys, required span fields, the ingest
/// endpoint's always-202 replies and 60 requests/minute), records what it accepted, and injects faults on demand.
public final class FakeLangWatch: Sendable {
    public static let apiKey = "sk-lw-test-project-key-0001"
    public static let ingestSecret = "lw_is_test-ingest-secret-42"
    public static let sourceID = "src-1"

    /// One request as it arrived (body decompressed).
    public struct Request: Sendable {
        public var path: String
        public var headers: [String: String]
        public var body: [UInt8]
        public var status: Int
    }

    /// A span as the server understood it.
    public struct Span: Sendable, Hashable {
        public var traceID: String
        public var spanID: String
        public var name: String
        public var kind: Int
        public var attributes: [String: String]
        /// The attributes of the span's resource (OTLP requests only).
        public var resource: [String: String] = [:]
    }

    /// What to do to the next request to a path instead of answering it.
    public enum Fault: Sendable {
        case status(Int, headers: [String: String] = [:], body: String = "")
        case delay(Duration)
        /// The connection is cut in the middle of the reply.
        case drop
    }

    struct Dropped: Error {}

    private struct State {
        var requests: [Request] = []
        var spans: [Span] = []
        /// When each of `spans` was accepted (same order).
        var spanTimes: [ContinuousClock.Instant] = []
        var collectorTraces: [JSONValue] = []
        var runs: [JSONValue] = []
        var faults: [(prefix: String, fault: Fault)] = []
        /// Trace ids the search API reports, and from when on (ingestion is asynchronous).
        var searchable: [String: ContinuousClock.Instant] = [:]
        var ingestWindow: [ContinuousClock.Instant] = []

        mutating func accept(_ accepted: [Span]) {
            spans += accepted
            spanTimes += repeatElement(ContinuousClock.now, count: accepted.count)
        }
    }

    private let state = Mutex(State())
    private let portBox = Mutex(0)
    private let task = Mutex<Task<Void, any Error>?>(nil)
    /// Requests per minute the ingest endpoint allows.
    public let ingestLimit: Int

    public init(ingestLimit: Int = 60) {
        self.ingestLimit = ingestLimit
    }

    public var port: Int { portBox.withLock { $0 } }
    public var url: String { "http://127.0.0.1:\(port)" }
    public var requests: [Request] { state.withLock { $0.requests } }
    /// Every accepted span, duplicates included (the real service deduplicates; tests count them).
    public var spans: [Span] { state.withLock { $0.spans } }
    /// The accepted spans from the `start`th on, each with when the server accepted it (to tell what was in
    /// flight at a moment, and to follow a long run without copying every span each time).
    public func acceptedSpans(from start: Int) -> [(span: Span, at: ContinuousClock.Instant)] {
        state.withLock { state in
            guard start < state.spans.count else { return [] }
            return (start..<state.spans.count).map { (state.spans[$0], state.spanTimes[$0]) }
        }
    }
    /// Every collector request body the server accepted.
    public var collectorTraces: [JSONValue] { state.withLock { $0.collectorTraces } }
    /// Every LangSmith run accepted by `/runs/batch`.
    public var runs: [JSONValue] { state.withLock { $0.runs } }

    /// Every span accepted by the collector API, as sent.
    public var collectorSpans: [JSONValue] {
        collectorTraces.flatMap { trace -> [JSONValue] in
            guard case .array(let spans)? = trace["spans"] else { return [] }
            return spans
        }
    }

    /// A started server whose endpoints under `prefix` answer 503 to everything until `clearFaults()`: an
    /// outage.
    public static func down(on prefix: String = "/api/otel") async throws -> FakeLangWatch {
        let server = FakeLangWatch()
        try await server.start()
        server.inject(Array(repeating: .status(503), count: 100_000), on: prefix)
        return server
    }

    /// Makes a trace findable by the search API from now on.
    public func makeSearchable(_ traceID: String) {
        state.withLock { $0.searchable[traceID] = .now }
    }

    /// Makes the next request(s) whose path starts with `prefix` fail as given, in order.
    public func inject(_ faults: [Fault], on prefix: String = "/") {
        state.withLock { $0.faults += faults.map { (prefix, $0) } }
    }

    /// Forgets the faults not yet used.
    public func clearFaults() {
        state.withLock { $0.faults.removeAll() }
    }

    public func start() async throws {
        let router = Router()
        for path in ["/api/otel/v1/traces", "/v1/traces"] {
            router.post(RouterPath(path)) { request, _ in try await self.handle(request, path: path, self.otel) }
        }
        router.post("/api/collector") { request, _ in try await self.handle(request, path: "/api/collector", self.collector) }
        router.post("/runs/batch") { request, _ in try await self.handle(request, path: "/runs/batch", self.langSmith) }
        router.post("/api/traces/search") { request, _ in try await self.handle(request, path: "/api/traces/search", self.search) }
        router.post("/api/ingest/otel/:source") { request, context in
            let source = context.parameters.get("source") ?? ""
            return try await self.handle(request, path: "/api/ingest/otel/\(source)") { self.ingest($0, source: source) }
        }
        let ready = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                self.portBox.withLock { $0 = channel.localAddress?.port ?? 0 }
                ready.withLock { $0.take() }?.resume()
            },
            logger: Logger(label: "fake-langwatch"))
        await withCheckedContinuation { continuation in
            ready.withLock { $0 = continuation }
            task.withLock { $0 = Task { try await app.run() } }
        }
    }

    public func stop() {
        task.withLock { $0?.cancel() }
    }

    private func handle(
        _ request: Hummingbird.Request, path: String, _ respond: @Sendable (Request) -> Response
    ) async throws -> Response {
        var request = request
        let raw = Array(buffer: try await request.collectBody(upTo: 12 << 20))
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let fault = state.withLock { state -> Fault? in
            guard let index = state.faults.firstIndex(where: { path.hasPrefix($0.prefix) }) else { return nil }
            return state.faults.remove(at: index).fault
        }
        var recorded = Request(path: path, headers: headers, body: raw, status: 0)
        switch fault {
        case .status(let code, let extra, let body)?:
            recorded.status = code
            state.withLock { $0.requests.append(recorded) }
            var fields = HTTPFields()
            for (name, value) in extra { fields[HTTPField.Name(name)!] = value }
            return Response(status: .init(code: code), headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
        case .delay(let duration)?:
            try await Task.sleep(for: duration)
        case .drop?:
            recorded.status = -1
            state.withLock { $0.requests.append(recorded) }
            let body = ResponseBody { writer in
                try await writer.write(ByteBuffer(string: "{\"partial"))
                throw Dropped()
            }
            var fields = HTTPFields()
            fields[.contentLength] = "1000"
            return Response(status: .ok, headers: fields, body: body)
        case nil:
            break
        }
        if let encoding = headers["content-encoding"], encoding == "gzip" || encoding == "deflate" {
            guard let body = try? Gzip.decompress(raw, limit: 10 << 20) else {
                return reply(400, #"{"error":"Failed to parse traces"}"#, recorded)
            }
            recorded.body = body
        } else if let encoding = headers["content-encoding"], encoding != "identity" {
            return reply(400, #"{"error":"ERR_UNSUPPORTED_ENCODING"}"#, recorded)
        }
        let response = respond(recorded)
        recorded.status = Int(response.status.code)
        state.withLock { $0.requests.append(recorded) }
        return response
    }

    private func reply(_ status: Int, _ body: String, _ request: Request, headers: [String: String] = [:]) -> Response {
        var request = request
        request.status = status
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
        return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// `POST /api/traces/search` (WIRE.md §3): the project key, `startDate` and `endDate` required (422), the traces
    /// among `traceIds` that are searchable by now.
    private func search(_ request: Request) -> Response {
        let token = request.headers["x-auth-token"] ?? request.headers["authorization"].map { String($0.dropFirst("Bearer ".count)) }
        guard token == Self.apiKey else { return reply(401, #"{"error":"Unauthorized","message":"Invalid credentials"}"#, request) }
        guard let body = try? JSONReader.parse(request.body) else { return reply(400, #"{"error":"Invalid JSON"}"#, request) }
        guard body["startDate"] != nil, body["endDate"] != nil else { return reply(422, #"{"error":"startDate and endDate are required"}"#, request) }
        let wanted = body["traceIds"]?.items?.compactMap(\.text)
        let now = ContinuousClock.now
        let found = state.withLock { state in
            state.searchable.filter { $0.value <= now && (wanted?.contains($0.key) ?? true) }.keys.sorted()
        }
        let traces = found.map { #"{"trace_id":"\#($0)","metadata":{},"spans":[]}"# }.joined(separator: ",")
        return reply(200, #"{"traces":[\#(traces)],"pagination":{"totalHits":\#(found.count)}}"#, request)
    }

    /// `/api/otel/v1/traces`: project key, then JSON when the type is exactly `application/json`, else protobuf.
    private func otel(_ request: Request) -> Response {
        let token = request.headers["x-auth-token"] ?? request.headers["authorization"].map { String($0.dropFirst("Bearer ".count)) }
        guard let token, !token.isEmpty else {
            return reply(401, #"{"message":"Authentication token is required. Use X-Auth-Token header or Authorization: Bearer token."}"#, request)
        }
        guard token == Self.apiKey else { return reply(401, #"{"message":"Invalid auth token."}"#, request) }
        guard let (spans, rejected) = parse(request) else { return reply(400, #"{"error":"Failed to parse traces"}"#, request) }
        state.withLock { $0.accept(spans) }
        return reply(200, #"{"message":"Trace received successfully.","partialSuccess":{"rejectedSpans":\#(rejected),"errorMessage":""}}"#, request)
    }

    /// `/api/collector`, in the order the real handler checks (WIRE.md §1.2).
    private func collector(_ request: Request) -> Response {
        let unauthorized = #"{"error":"Unauthorized","message":"Invalid credentials"}"#
        if request.body.count > 10 << 20 { return reply(413, "Payload Too Large", request) }
        let token = request.headers["x-auth-token"] ?? request.headers["authorization"].map { String($0.dropFirst("Bearer ".count)) }
        guard let token, !token.isEmpty else { return reply(401, unauthorized, request) }
        let invalid = #"{"message":"Invalid body, expecting json"}"#
        guard request.headers["content-type"]?.contains("application/json") == true, request.headers["content-encoding"] == nil,
              let body = try? JSONReader.parse(request.body), case .object = body else { return reply(400, invalid, request) }
        guard token == Self.apiKey else { return reply(401, unauthorized, request) }
        guard case .array(let spans)? = body["spans"] else { return reply(400, #"{"error":"spans must be an array"}"#, request) }
        if spans.count > 200 { return reply(429, #"{"message":"Too many spans, maximum of 200 per trace"}"#, request) }
        let types: Set<String> = ["span", "llm", "chain", "tool", "agent", "rag", "guardrail", "evaluation", "workflow", "component",
                                  "module", "server", "client", "producer", "consumer", "task", "unknown"]
        var traceIDs = Set<String>()
        if case .string(let id)? = body["trace_id"] { traceIDs.insert(id) }
        for (index, span) in spans.enumerated() {
            if case .string(let id)? = span["trace_id"] { traceIDs.insert(id) }
            guard case .string? = span["span_id"] ?? span["id"], case .string(let type)? = span["type"], types.contains(type) else {
                return reply(400, #"{"error":"invalid span at "spans[\#(index)]""}"#, request)
            }
            guard case .int(let started)? = span["timestamps"]?["started_at"], case .int(let finished)? = span["timestamps"]?["finished_at"] else {
                return reply(400, #"{"error":"timestamps required at "spans[\#(index)]""}"#, request)
            }
            for value in [started, finished] where String(value).count != 13 {
                return reply(400, #"{"error":"Timestamps should be in milliseconds not in seconds, please multiply it by 1000"}"#, request)
            }
            if let error = span["error"], case .array? = error["stacktrace"] {} else if span["error"] != nil {
                return reply(400, #"{"error":"error.stacktrace required at "spans[\#(index)]""}"#, request)
            }
        }
        guard !traceIDs.isEmpty else { return reply(400, #"{"error":"Trace ID not defined"}"#, request) }
        guard traceIDs.count == 1 else { return reply(400, #"{"error":"All spans must have the same trace id"}"#, request) }
        state.withLock { $0.collectorTraces.append(body) }
        return reply(200, #"{"message":"Trace received successfully.","partialSuccess":{"rejectedSpans":0,"rejectedEvaluations":0,"errorMessage":""}}"#, request)
    }

    public static let langSmithKey = "lsv2_pt_test-key-77"

    /// LangSmith `/runs/batch`: `x-api-key`; each run needs a UUID id, `trace_id`, a valid `run_type`, and a
    /// `dotted_order` that starts at its trace's root and ends with the run's own id.
    private func langSmith(_ request: Request) -> Response {
        guard request.headers["x-api-key"] == Self.langSmithKey else { return reply(401, #"{"detail":"Invalid token"}"#, request) }
        guard let body = try? JSONReader.parse(request.body), case .array(let posts)? = body["post"] else {
            return reply(422, #"{"detail":"expected post"}"#, request)
        }
        let types: Set<String> = ["llm", "chain", "tool", "retriever", "embedding", "prompt", "parser"]
        for run in posts {
            guard case .string(let id)? = run["id"], UUID(uuidString: id) != nil, case .string(let trace)? = run["trace_id"],
                  case .string(let type)? = run["run_type"], types.contains(type), case .string(let order)? = run["dotted_order"],
                  order.hasSuffix(id), order.split(separator: ".").first?.hasSuffix(trace) == true,
                  case .string? = run["start_time"] else {
                return reply(422, #"{"detail":"invalid run"}"#, request)
            }
        }
        state.withLock { $0.runs += posts }
        return reply(202, #"{"message":"Runs batch ingested"}"#, request)
    }

    /// `/api/ingest/otel/:sourceId`: rate limit first, then the `lw_is_` bearer secret; always 202 after that.
    private func ingest(_ request: Request, source: String) -> Response {
        let limited = state.withLock { state -> Bool in
            let now = ContinuousClock.now
            state.ingestWindow.removeAll { now - $0 >= .seconds(60) }
            guard state.ingestWindow.count < ingestLimit else { return true }
            state.ingestWindow.append(now)
            return false
        }
        if limited { return reply(429, #"{"error":"rate_limited"}"#, request, headers: ["Retry-After": "1"]) }
        guard request.headers["authorization"] == "Bearer \(Self.ingestSecret)", source == Self.sourceID else {
            return reply(401, #"{"error":"unauthorized"}"#, request)
        }
        let parsed = parse(request)
        let spans = parsed?.spans ?? []
        state.withLock { $0.accept(spans) }
        var body = #"{"accepted":true,"bytes":\#(request.body.count),"events":\#(spans.count)"#
        if let rejected = parsed?.rejected, rejected > 0 { body += #","rejectedSpans":\#(rejected)"# }
        if spans.isEmpty { body += #","hint":"no spans found: send OTLP with camelCase keys"#+"\"" }
        return reply(202, body + "}", request)
    }

    /// The spans of an OTLP body, and how many were invalid (missing a required field).
    private func parse(_ request: Request) -> (spans: [Span], rejected: Int)? {
        if request.headers["content-type"] == "application/json" {
            guard let document = try? JSONReader.parse(request.body) else { return nil }
            return spans(fromJSON: document)
        }
        guard let message = try? OTLPExportRequest(serializedBytes: request.body) else { return nil }
        var spans: [Span] = []
        for resourceSpans in message.resourceSpans {
            var resource: [String: String] = [:]
            for keyValue in resourceSpans.resource.attributes { resource[keyValue.key] = Self.text(keyValue.value) }
            for scopeSpans in resourceSpans.scopeSpans {
                for span in scopeSpans.spans {
                    var attributes: [String: String] = [:]
                    for keyValue in span.attributes { attributes[keyValue.key] = Self.text(keyValue.value) }
                    spans.append(Span(traceID: span.traceID.map { String(format: "%02x", $0) }.joined(),
                                      spanID: span.spanID.map { String(format: "%02x", $0) }.joined(),
                                      name: span.name, kind: span.kind.rawValue, attributes: attributes, resource: resource))
                }
            }
        }
        return (spans, 0)
    }

    private func spans(fromJSON document: JSONValue) -> (spans: [Span], rejected: Int) {
        // camelCase only: `resource_spans` yields nothing (and still a 200).
        guard case .array(let resources)? = document["resourceSpans"] else { return ([], 0) }
        var spans: [Span] = []
        var rejected = 0
        for resource in resources {
            guard case .array(let scopes)? = resource["scopeSpans"] else { continue }
            var resourceAttributes: [String: String] = [:]
            if case .array(let attributes)? = resource["resource"]?["attributes"] {
                for attribute in attributes {
                    guard case .string(let key)? = attribute["key"], let value = attribute["value"] else { continue }
                    resourceAttributes[key] = Self.text(value)
                }
            }
            for scope in scopes {
                guard case .array(let list)? = scope["spans"] else { continue }
                for span in list {
                    guard case .string(let traceID)? = span["traceId"], case .string(let spanID)? = span["spanId"],
                          case .string(let name)? = span["name"], case .int(let kind)? = span["kind"],
                          case .string? = span["startTimeUnixNano"], case .string? = span["endTimeUnixNano"],
                          case .array(let attributes)? = span["attributes"] else {
                        rejected += 1
                        continue
                    }
                    var values: [String: String] = [:]
                    for attribute in attributes {
                        guard case .string(let key)? = attribute["key"], let value = attribute["value"] else { continue }
                        values[key] = Self.text(value)
                    }
                    spans.append(Span(traceID: traceID, spanID: spanID, name: name, kind: Int(kind), attributes: values,
                                      resource: resourceAttributes))
                }
            }
        }
        return (spans, rejected)
    }

    /// An attribute value as comparable text: strings as they are, the rest as JSON of the OTLP/JSON form.
    public static func text(_ value: Opentelemetry_Proto_Trace_V1_AnyValue) -> String {
        switch value.value {
        case .stringValue(let text)?: return text
        case .intValue(let number)?: return #"{"intValue":"\#(number)"}"#
        case .doubleValue(let number)?:
            var writer = JSONWriter()
            writer.object { $0.double("doubleValue", number) }
            return writer.text
        case .boolValue(let flag)?: return #"{"boolValue":\#(flag)}"#
        case .arrayValue(let array)?: return #"{"arrayValue":{"values":["# + array.values.map { text(wrapped: $0) }.joined(separator: ",") + "]}}"
        default: return "?"
        }
    }

    private static func text(wrapped value: Opentelemetry_Proto_Trace_V1_AnyValue) -> String {
        if case .stringValue(let text)? = value.value {
            var writer = JSONWriter()
            writer.object { $0.string("stringValue", text) }
            return writer.text
        }
        return text(value)
    }

    public static func text(_ value: JSONValue) -> String {
        if case .string(let text)? = value["stringValue"] { return text }
        var writer = JSONWriter()
        writer.value(value)
        return writer.text
    }
}
