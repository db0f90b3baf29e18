import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1

/// Options every HTTP output shares; they sit beside the output's own options in YAML.
public struct HTTPSettings: Sendable, Decodable {
    public enum Compression: String, ConfigChoice {
        case gzip, none
    }

    /// One request's limit.
    public var timeout = ConfigDuration.seconds(30)
    /// Extra request headers (values under secret-looking names are redacted everywhere).
    public var headers: [String: String] = [:]
    public var compression = Compression.gzip
    /// Requests in flight at once.
    public var concurrency = 4
    public var initialBackoff = ConfigDuration.milliseconds(500)
    public var maxBackoff = ConfigDuration.seconds(30)
    /// Give up on a failing request after this long and dead-letter it; by default it is retried until shutdown.
    public var maxRetryDuration: ConfigDuration?
    /// A request holds at most this many spans and about this many bytes, and waits at most `batch_wait` to fill.
    public var batchSpans = 1000
    public var batchBytes = ByteSize.mebibytes(4)
    public var batchWait = ConfigDuration.seconds(1)

    public init() {}

    enum CodingKeys: String, CodingKey {
        case timeout, headers, compression, concurrency
        case initialBackoff = "initial_backoff"
        case maxBackoff = "max_backoff"
        case maxRetryDuration = "max_retry_duration"
        case batchSpans = "batch_spans"
        case batchBytes = "batch_bytes"
        case batchWait = "batch_wait"
    }

    /// Decodes the shared options over an output's own defaults.
    public init(from decoder: any Decoder, defaults: HTTPSettings) throws {
        self = defaults
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try container.decode(.timeout, into: &timeout)
        try container.decode(.headers, into: &headers)
        try container.decode(.compression, into: &compression)
        try container.decode(.concurrency, into: &concurrency)
        try container.decode(.initialBackoff, into: &initialBackoff)
        try container.decode(.maxBackoff, into: &maxBackoff)
        try container.decode(.maxRetryDuration, into: &maxRetryDuration)
        try container.decode(.batchSpans, into: &batchSpans)
        try container.decode(.batchBytes, into: &batchBytes)
        try container.decode(.batchWait, into: &batchWait)
        for (key, value) in [(CodingKeys.concurrency, concurrency), (.batchSpans, batchSpans)] where value < 1 {
            throw ConfigValueError("must be at least 1", codingPath: container.codingPath + [key])
        }
        for (name, value) in headers where Redactor.isSecretKey(name) { Redactor.shared.register(value) }
    }

    public init(from decoder: any Decoder) throws {
        try self.init(from: decoder, defaults: HTTPSettings())
    }

    public static let options = [
        PluginOption("timeout", "duration", default: "30s", "One request's time limit."),
        PluginOption("headers", "mapping", default: "{}", "Extra request headers."),
        PluginOption("compression", Compression.choices, default: "gzip (none for the collector API)", "Request body compression."),
        PluginOption("concurrency", "integer", default: "4", "Requests in flight at once."),
        PluginOption("initial_backoff", "duration", default: "500ms", "First retry wait; doubles per retry, with full jitter."),
        PluginOption("max_backoff", "duration", default: "30s", "Longest retry wait (a Retry-After from the server wins)."),
        PluginOption("max_retry_duration", "duration", default: "until shutdown",
                     "Give up on a failing request after this long and dead-letter it."),
        PluginOption("batch_spans", "integer", default: "1000", "Spans per request at most."),
        PluginOption("batch_bytes", "size", default: "4MiB", "About this many bytes per request at most."),
        PluginOption("batch_wait", "duration", default: "1s", "How long a request waits to fill."),
    ]
}

/// What a server's reply means for the request that got it.
public enum Verdict: Sendable, Equatable {
    /// Taken; `rejected` spans were refused inside an accepted request (counted, not retried).
    case accepted(rejected: Int, message: String?)
    /// Worth another try, after the server's wait if it gave one.
    case retry(reason: String, after: Duration?)
    /// The request is too large: send its halves.
    case split(reason: String)
    /// It will never be accepted.
    case permanent(reason: String)
}

/// Posts request bodies with retries: exponential backoff with full jitter, capped; `Retry-After` honoured (seconds
/// or HTTP date); network errors, 408, 429, 500, 502, 503, 504 retried; 413 split; other statuses permanent.
/// An output's `inspect` can override the verdict for a reply (a 202 that took nothing, a 429 that means "too
/// many spans"). Retrying stops when the task is cancelled (shutdown), leaving the request unacknowledged.
public struct HTTPSender: Sendable {
    public let url: String
    public let settings: HTTPSettings
    public let headers: [(String, String)]
    public let client: HTTPClient
    let logger: Logger
    let requests: MetricCounter
    let retries: MetricCounter
    let health: StageHealth

    public init(url: String, settings: HTTPSettings, headers: [(String, String)], context: PluginContext) {
        self.url = url
        self.settings = settings
        self.headers = headers + settings.headers.map { ($0.key, $0.value) }
        client = HTTPClient.traceTail
        logger = context.logger
        requests = context.metrics.counter("http_requests_total")
        retries = context.metrics.counter("http_retries_total")
        health = context.health
    }

    /// A reply.
    public struct Reply: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Posts `body` until a final verdict (accepted, split, permanent); throws only when cancelled.
    public func post(_ body: ByteBuffer, contentType: String, inspect: (Reply) -> Verdict? = { _ in nil }) async throws -> (Verdict, status: Int?) {
        var payload = body
        var requestHeaders = HTTPHeaders(headers.map { ($0.0, $0.1) })
        requestHeaders.replaceOrAdd(name: "Content-Type", value: contentType)
        if settings.compression == .gzip {
            payload = try Gzip.compress(body)
            requestHeaders.replaceOrAdd(name: "Content-Encoding", value: "gzip")
        }
        let started = ContinuousClock.now
        var attempt = 0
        while true {
            try Task.checkCancellation()
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers = requestHeaders
            request.body = .bytes(payload)
            let verdict: Verdict
            var status: Int?
            do {
                requests.increment()
                let response = try await client.execute(request, timeout: .nanoseconds(Int64(settings.timeout.duration.components.seconds * 1_000_000_000 + settings.timeout.duration.components.attoseconds / 1_000_000_000)))
                let reply = Reply(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                                  body: Array(buffer: try await response.body.collect(upTo: 4 << 20)))
                status = reply.status
                verdict = inspect(reply) ?? Self.verdict(for: reply)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                if Task.isCancelled { throw CancellationError() }
                verdict = .retry(reason: "\(error)", after: nil)
            }
            guard case .retry(let reason, let after) = verdict else {
                if case .permanent(let reason) = verdict { health.failing(reason) } else { health.healthy() }
                return (verdict, status)
            }
            health.failing(reason)
            if let limit = settings.maxRetryDuration, ContinuousClock.now - started >= limit.duration {
                return (.permanent(reason: "gave up after \(limit): \(reason)"), status)
            }
            let wait = after ?? backoff(attempt)
            attempt += 1
            retries.increment()
            logger.warning("request failed; retrying", metadata: [
                "url": "\(url)", "reason": "\(reason)", "status": "\(status.map(String.init) ?? "none")",
                "retry_in": "\(wait)", "attempt": "\(attempt)",
            ])
            try await Task.sleep(for: wait)
        }
    }

    /// Full jitter: a random wait up to the exponential bound.
    func backoff(_ attempt: Int) -> Duration {
        let base = Double(settings.initialBackoff.duration.components.seconds) + Double(settings.initialBackoff.duration.components.attoseconds) / 1e18
        let cap = Double(settings.maxBackoff.duration.components.seconds) + Double(settings.maxBackoff.duration.components.attoseconds) / 1e18
        let bound = min(cap, base * pow2(attempt))
        return .milliseconds(Int64(Double.random(in: 0...max(bound, 0.001)) * 1000))
    }

    private func pow2(_ exponent: Int) -> Double { Double(1 << min(exponent, 30)) }

    /// The default reading of a status.
    public static func verdict(for reply: Reply) -> Verdict {
        switch reply.status {
        case 200..<300: return .accepted(rejected: 0, message: nil)
        case 413: return .split(reason: "413 payload too large")
        case 408, 429, 500, 502, 503, 504:
            return .retry(reason: "\(reply.status) \(reply.text.prefix(200))", after: retryAfter(reply))
        default: return .permanent(reason: "\(reply.status) \(reply.text.prefix(500))")
        }
    }

    /// `Retry-After` in seconds or as an HTTP date.
    public static func retryAfter(_ reply: Reply) -> Duration? {
        guard let value = reply.headers.first(where: { $0.0.lowercased() == "retry-after" })?.1.trimmingWhitespace() else { return nil }
        if let seconds = Double(value), seconds >= 0 { return .milliseconds(Int64(seconds * 1000)) }
        guard let date = HTTPDate.parse(value) else { return nil }
        let now = Clock.nowNanoseconds / 1_000_000_000
        return .seconds(Int64(date) - Int64(now) > 0 ? Int64(date) - Int64(now) : 0)
    }
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form `Retry-After` dates take.
public enum HTTPDate {
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Seconds since the epoch.
    public static func parse(_ text: String) -> UInt64? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]), let month = months.firstIndex(of: String(parts[2])),
              let year = Int(parts[3]) else { return nil }
        let time = parts[4].split(separator: ":").compactMap { Int($0) }
        guard time.count == 3 else { return nil }
        let days = TimestampParser.daysSinceEpoch(year: year, month: month + 1, day: day)
        let seconds = days * 86_400 + time[0] * 3600 + time[1] * 60 + time[2]
        return seconds >= 0 ? UInt64(seconds) : nil
    }

    /// Formats seconds since the epoch.
    public static func format(_ seconds: UInt64) -> String {
        let (year, month, day) = Timestamp.civilDate(daysSinceEpoch: Int64(seconds / 86_400))
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][Int((seconds / 86_400) % 7)]
        let second = seconds % 86_400
        func two(_ value: UInt64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekday), \(two(UInt64(day))) \(months[Int(month) - 1]) \(year) \(two(second / 3600)):\(two(second / 60 % 60)):\(two(second % 60)) GMT"
    }
}

/// An `http://` or `https://` URL from the configuration, without trailing slashes.
public struct EndpointURL: Sendable, Decodable, CustomStringConvertible {
    public var value: String

    public init(from decoder: any Decoder) throws {
        var text = try decoder.singleValueContainer().decode(String.self)
        guard text.hasPrefix("http://") || text.hasPrefix("https://") else {
            throw ConfigValueError("expected an http:// or https:// URL", codingPath: decoder.codingPath)
        }
        while text.hasSuffix("/") { text.removeLast() }
        value = text
    }

    public var description: String { value }
}

extension HTTPClient {
    /// The client every output and `verify` share: `HTTPClient.shared`'s configuration, except that a connection
    /// that cannot be established (refused, unreachable) fails its request at once, so that TraceTail's own retry
    /// logs it, counts it and backs off. With AsyncHTTPClient's default, the pool retried the connection quietly
    /// until the request's `timeout` (30 s) ran out, every time.
    public static let traceTail: HTTPClient = {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()
}
