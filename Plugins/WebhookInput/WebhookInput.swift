import Crypto
import FoundationEssentials
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization
import TraceTailCore

/// An HTTP server for apps that post their telemetry instead of writing a log: a generic ingest route, a LangWatch
/// collector relay and an OTLP/HTTP receiver. A request is answered 2xx only once its records are in the disk
/// queue (or, with `ack: delivered`, accepted by every output); a full queue, or a disk that cannot take the
/// request (full), answers 503 with `Retry-After`.
public struct WebhookInput: Input {
    public struct Configuration: Decodable, Sendable {
        public var listen = ListenAddress(host: "127.0.0.1", port: 8080)
        public var path = "/ingest"
        public var auth = WebhookAuth()
        public var maxBodyBytes = ByteSize.mebibytes(10)
        public var ack = Acknowledgement.queued
        public var ackTimeout = ConfigDuration.seconds(30)
        public var queue = DiskQueueConfiguration()
        public var retryAfter = ConfigDuration.seconds(1)

        enum CodingKeys: String, CodingKey {
            case listen, path, auth, ack, queue
            case maxBodyBytes = "max_body_bytes"
            case ackTimeout = "ack_timeout"
            case retryAfter = "retry_after"
        }

        public init() {}

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            try container.decode(.listen, into: &listen)
            try container.decode(.path, into: &path)
            try container.decode(.auth, into: &auth)
            try container.decode(.maxBodyBytes, into: &maxBodyBytes)
            try container.decode(.ack, into: &ack)
            try container.decode(.ackTimeout, into: &ackTimeout)
            try container.decode(.queue, into: &queue)
            try container.decode(.retryAfter, into: &retryAfter)
            guard path.hasPrefix("/"), !WebhookInput.relayRoutes.contains(path) else {
                throw ConfigValueError("path must start with '/' and differ from \(WebhookInput.relayRoutes.joined(separator: ", "))",
                                       codingPath: container.codingPath + [CodingKeys.path])
            }
            guard maxBodyBytes.bytes > 0, maxBodyBytes.bytes < queue.maxBytes.bytes else {
                throw ConfigValueError("max_body_bytes must be above zero and below queue.max_bytes",
                                       codingPath: container.codingPath + [CodingKeys.maxBodyBytes])
            }
        }
    }

    /// When a request is answered.
    public enum Acknowledgement: String, ConfigChoice {
        /// Once its records are in the disk queue.
        case queued
        /// Once every output accepted them (202 instead of 200 if that takes longer than `ack_timeout`).
        case delivered
    }

    public static let kind = "webhook"
    public static let summary = "HTTP server: POST /ingest (JSON, NDJSON, text), a LangWatch /api/collector relay and an OTLP/HTTP receiver, through a disk queue."
    public static let options = [
        PluginOption("listen", "host:port", default: "127.0.0.1:8080", "Where the server listens."),
        PluginOption("path", "path", default: "/ingest", "The generic route: a JSON object or array, NDJSON, or text lines (by Content-Type)."),
        PluginOption("auth", "mapping", default: "none",
                     "bearer_tokens: [...] and/or hmac_secret (or hmac_secret_file) with hmac_header (default X-Signature-256, value sha256=<hex>); either one admits a request."),
        PluginOption("max_body_bytes", "size", default: "10MiB", "Larger bodies (also once decompressed) get 413."),
        PluginOption("ack", "queued | delivered", default: "queued", "Answer 2xx once records are in the disk queue, or once every output accepted them."),
        PluginOption("ack_timeout", "duration", default: "30s", "With ack: delivered, answer 202 (queued, still on its way) after this long."),
        PluginOption("queue", "mapping", default: "max_bytes: 256MiB, fsync: always", "The disk queue: its size cap and fsync policy (always | never)."),
        PluginOption("retry_after", "duration", default: "1s", "The Retry-After of a 503 when the queue is full or its disk cannot be written."),
    ]

    /// Routes every webhook serves besides `path`, and what each takes.
    static let relays: [(path: String, route: Route)] = [
        ("/api/collector", .collector), ("/v1/traces", .otlp), ("/api/otel/v1/traces", .otlp),
    ]
    static var relayRoutes: [String] { relays.map(\.path) }

    let configuration: Configuration
    let context: PluginContext
    let queue: DiskQueue
    let stored: QueueEmitter
    let metrics: WebhookMetrics

    public init(configuration: Configuration, context: PluginContext) throws {
        self.configuration = configuration
        self.context = context
        queue = try DiskQueue(directory: context.dataDirectory + "/\(context.stageName)-queue",
                              settings: configuration.queue.settings, metrics: context.metrics, writes: context.dataWrites)
        stored = QueueEmitter(queue: queue)
        metrics = WebhookMetrics(context.metrics)
        if queue.recovery.replayed > 0 || queue.recovery.corrupt > 0 {
            context.logger.info("disk queue recovered", metadata: [
                "replaying": "\(queue.recovery.replayed)", "corrupt_entries_skipped": "\(queue.recovery.corrupt)",
            ])
        }
    }

    public func run(emitter: BatchEmitter) async throws {
        if context.once {
            // A backfill: deliver what the queue holds, serve nothing.
            return try await stored.run(emitter: emitter, waiting: false)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await serve() }
            group.addTask { try await stored.run(emitter: emitter) }
            defer { queue.stop() }
            try await group.next()
            group.cancelAll()
        }
    }

    public func acknowledge(_ token: AckToken, status: BatchStatus) {
        stored.acknowledge(token, status: status)
    }

    /// Records the queue's position and syncs it, once the pipeline drained.
    public func finish() async throws {
        try await stored.finish()
    }

    // MARK: - Server

    private func serve() async throws {
        let router = Router()
        router.post(RouterPath(configuration.path)) { request, _ in await handle(request, route: .ingest) }
        for (path, route) in Self.relays {
            router.post(RouterPath(path)) { request, _ in await handle(request, route: route) }
        }
        let listen = configuration.listen
        let logger = context.logger
        if !listen.isLoopback && configuration.auth.isEmpty {
            logger.warning("the webhook listens beyond this machine without auth", metadata: ["listen": "\(listen)"])
        }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: "tracetail"),
            onServerRunning: { channel in
                logger.info("webhook listening", metadata: [
                    "address": "\(listen.host):\(channel.localAddress?.port ?? listen.port)",
                    "routes": "\(([configuration.path] + Self.relayRoutes).joined(separator: " "))",
                ])
            },
            logger: Logger(label: "tracetail.webhook", factory: { _ in SwiftLogNoOpLogHandler() }))
        try await app.run()
    }

    /// A route's kind, also its metric label.
    enum Route: String, Sendable {
        case ingest, collector, otlp
    }

    private func handle(_ request: Request, route: Route) async -> Response {
        let response: Response
        do {
            response = try await accept(request, route: route)
        } catch let error as RequestError {
            response = error.response(retryAfter: configuration.retryAfter)
        } catch {
            context.logger.error("webhook request failed", metadata: ["route": "\(route.rawValue)", "error": "\(error)"])
            response = RequestError.unavailable("cannot queue the request: \(error)").response(retryAfter: configuration.retryAfter)
        }
        metrics.requests(route: route.rawValue, status: response.status.code).increment()
        return response
    }

    private func accept(_ request: Request, route: Route) async throws -> Response {
        var request = request
        let limit = configuration.maxBodyBytes.bytes
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { throw RequestError.tooLarge(limit) }
        let received: [UInt8]
        do {
            received = Array(buffer: try await request.collectBody(upTo: limit))
        } catch {
            throw RequestError.tooLarge(limit)
        }
        guard configuration.auth.admits(request.headers, body: received) else { throw RequestError.unauthorized }
        let body = try Self.decoded(received, encoding: request.headers[.contentEncoding], limit: limit)
        let mediaType = request.headers[.contentType].map(Self.mediaType) ?? ""
        let source = "webhook \(request.uri.path)"
        var batch: RecordBatch
        switch route {
        case .ingest:
            batch = try IngestItems.records(body, mediaType: mediaType, source: source)
        case .collector:
            guard mediaType == "application/json" else { throw RequestError.unsupported("the collector takes application/json") }
            batch = try CollectorSpans.records(body, source: source)
        case .otlp:
            switch mediaType {
            case "application/x-protobuf", "application/protobuf": batch = try OTLPSpans.records(protobuf: body, source: source)
            case "application/json": batch = try OTLPSpans.records(json: body, source: source)
            default: throw RequestError.unsupported("OTLP/HTTP takes application/x-protobuf or application/json")
            }
        }
        let count = batch.records.count
        var delivered = true
        if count > 0 {
            let sequence: UInt64
            do {
                sequence = try await queue.append(batch)
            } catch is DiskQueue.Full {
                metrics.refused.increment(by: count)
                throw RequestError.unavailable("the queue is full; retry later")
            } catch let error as SystemError {
                // Reported (logged once, counted, /readyz) by the queue; the client retries after Retry-After.
                metrics.refused.increment(by: count)
                throw RequestError.unavailable("the queue cannot be written (\(error.reason)); retry later")
            }
            metrics.accepted.increment(by: count)
            if configuration.ack == .delivered { delivered = await waitDelivered(sequence) }
        }
        return Self.reply(route, mediaType: mediaType, accepted: count, delivered: delivered)
    }

    /// Waits for the outputs to accept an entry, at most `ack_timeout`.
    private func waitDelivered(_ sequence: UInt64) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await queue.acknowledged(sequence) }
            group.addTask {
                try? await Task.sleep(for: configuration.ackTimeout.duration)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    private static func reply(_ route: Route, mediaType: String, accepted: Int, delivered: Bool) -> Response {
        let status: HTTPResponse.Status = delivered ? .ok : .accepted
        switch route {
        case .otlp where mediaType != "application/json":
            // An empty ExportTraceServiceResponse: everything accepted.
            return Response(status: status, headers: [.contentType: "application/x-protobuf"], body: .init())
        case .otlp:
            return json(status, "{}")
        case .collector:
            return json(status, #"{"message":"Trace received successfully."}"#)
        case .ingest:
            return json(status, #"{"accepted":\#(accepted),"delivered":\#(delivered)}"#)
        }
    }

    static func json(_ status: HTTPResponse.Status, _ text: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// `application/json; charset=utf-8` → `application/json`.
    static func mediaType(_ header: String) -> String {
        header.split(separator: ";").first.map { $0.trimmingWhitespace().lowercased() } ?? ""
    }

    /// The body with its `Content-Encoding` undone.
    static func decoded(_ body: [UInt8], encoding: String?, limit: Int) throws -> [UInt8] {
        switch encoding?.lowercased() {
        case nil, "identity": return body
        case "gzip", "deflate", "x-gzip":
            do {
                return try Gzip.decompress(body, limit: limit)
            } catch {
                if error.description.contains("over") { throw RequestError.tooLarge(limit) }
                throw RequestError.badRequest("the body is not valid \(encoding!) data")
            }
        case let other?: throw RequestError.unsupported("Content-Encoding '\(other)' (gzip, deflate or none)")
        }
    }
}

/// Why a request was refused, as the reply says it.
enum RequestError: Error {
    case badRequest(String)
    case unsupported(String)
    case tooLarge(Int)
    case unauthorized
    case unavailable(String)

    var message: String {
        switch self {
        case .badRequest(let text), .unsupported(let text), .unavailable(let text): return text
        case .tooLarge(let limit): return "the body is over \(limit) bytes"
        case .unauthorized: return "missing or invalid credentials"
        }
    }

    func response(retryAfter: ConfigDuration) -> Response {
        var writer = JSONWriter()
        writer.object { $0.string("error", message) }
        let text = writer.text
        switch self {
        case .badRequest: return WebhookInput.json(.badRequest, text)
        case .unsupported: return WebhookInput.json(.unsupportedMediaType, text)
        case .tooLarge: return WebhookInput.json(.contentTooLarge, text)
        case .unauthorized: return WebhookInput.json(.unauthorized, text, headers: [.wwwAuthenticate: "Bearer"])
        case .unavailable:
            let seconds = max(1, Int(retryAfter.duration.components.seconds))
            return WebhookInput.json(.serviceUnavailable, text, headers: [.retryAfter: "\(seconds)"])
        }
    }
}

/// Who may post: bearer tokens and/or an HMAC-SHA256 signature of the body; with neither configured, anyone.
public struct WebhookAuth: Sendable, Decodable {
    public var bearerTokens: [Secret] = []
    public var hmacSecret: Secret?
    public var hmacHeader = "X-Signature-256"

    enum CodingKeys: String, CodingKey {
        case bearerTokens = "bearer_tokens"
        case hmacSecret = "hmac_secret"
        case hmacSecretFile = "hmac_secret_file"
        case hmacHeader = "hmac_header"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try container.decode(.bearerTokens, into: &bearerTokens)
        hmacSecret = try container.decodeSecret(.hmacSecret, file: .hmacSecretFile)
        try container.decode(.hmacHeader, into: &hmacHeader)
        guard HTTPField.Name(hmacHeader) != nil else {
            throw ConfigValueError("'\(hmacHeader)' is not a header name", codingPath: container.codingPath + [CodingKeys.hmacHeader])
        }
        if bearerTokens.contains(where: { $0.value.isEmpty }) || hmacSecret?.value.isEmpty == true {
            throw ConfigValueError("an empty secret would admit anyone", codingPath: container.codingPath)
        }
    }

    var isEmpty: Bool { bearerTokens.isEmpty && hmacSecret == nil }

    func admits(_ headers: HTTPFields, body: [UInt8]) -> Bool {
        if isEmpty { return true }
        if let authorization = headers[.authorization], authorization.lowercased().hasPrefix("bearer ") {
            let presented = SHA256.hash(data: Array(authorization.utf8.dropFirst(7)))
            var matched = false
            for token in bearerTokens where Self.equalInConstantTime(presented, SHA256.hash(data: Array(token.value.utf8))) {
                matched = true
            }
            if matched { return true }
        }
        if let secret = hmacSecret, let name = HTTPField.Name(hmacHeader), let signature = headers[name] {
            let hex = signature.lowercased().hasPrefix("sha256=") ? String(signature.dropFirst(7)) : signature
            guard let code = Self.bytes(hex: hex) else { return false }
            return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: body,
                                                          using: SymmetricKey(data: Array(secret.value.utf8)))
        }
        return false
    }

    private static func equalInConstantTime(_ a: SHA256.Digest, _ b: SHA256.Digest) -> Bool {
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }

    private static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}

/// Requests by route and status, records accepted and refused.
final class WebhookMetrics: Sendable {
    let scope: MetricsScope
    let accepted: MetricCounter
    let refused: MetricCounter
    private let byStatus = Mutex<[String: MetricCounter]>([:])

    init(_ scope: MetricsScope) {
        self.scope = scope
        accepted = scope.counter("webhook_records_accepted_total")
        refused = scope.counter("webhook_records_refused_total")
    }

    func requests(route: String, status: Int) -> MetricCounter {
        byStatus.withLock { counters in
            let key = "\(route) \(status)"
            if let counter = counters[key] { return counter }
            let counter = scope.counter("webhook_requests_total", labels: [("route", route), ("status", "\(status)")])
            counters[key] = counter
            return counter
        }
    }
}
