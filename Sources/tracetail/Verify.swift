import ArgumentParser
import AsyncHTTPClient
import FoundationEssentials
import NIOCore
import TraceTailCore

/// Asks LangWatch's trace search API (WIRE.md §3) whether traces arrived, polling with backoff: ingestion is
/// asynchronous. Exit status 0 when everything asked for was found, 1 when something is missing, 2 when the
/// endpoint refused the key.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Checks with LangWatch's search API that traces arrived.")

    @Option(help: "LangWatch's base URL.")
    var endpoint = "https://app.langwatch.ai"

    @Option(help: "A project API key with traces:view (default: the LANGWATCH_API_KEY variable).")
    var apiKey: String?

    @Option(help: "Read the API key from this file.")
    var apiKeyFile: String?

    @Option(help: "Sent as X-Project-Id, for keys bound to several projects.")
    var projectID: String?

    @Option(name: .customLong("trace-id"), help: "A trace id to look for (repeat for several).")
    var traceIDs: [String] = []

    @Option(help: "Instead of ids: report the traces that arrived within this duration, e.g. 10m.")
    var since: String?

    @Option(help: "How far back a trace may have started (ids only).")
    var lookback = "31d"

    @Option(help: "How long to keep polling for traces not found yet.")
    var timeout = "60s"

    func validate() throws {
        guard traceIDs.isEmpty != (since == nil) else { throw ValidationError("give --trace-id (one or more) or --since, not both") }
        for text in [since, lookback, timeout].compactMap({ $0 }) where ConfigDuration(parsing: Self.days(text)) == nil {
            throw ValidationError("'\(text)' is not a duration such as 30s, 10m, 2h or 31d")
        }
    }

    func run() async throws {
        guard let key = try resolvedKey(), !key.isEmpty else {
            throw ValidationError("no API key: give --api-key, --api-key-file or LANGWATCH_API_KEY")
        }
        Redactor.shared.register(key)
        let deadline = ContinuousClock.now + duration(timeout)
        let now = Date()
        let start = now.addingTimeInterval(-seconds(since ?? lookback))
        var missing = traceIDs
        var found: [String] = []
        var wait = Duration.seconds(1)
        while true {
            let traces: [String]
            do {
                traces = try await search(key: key, from: start, to: Date().addingTimeInterval(60), ids: since == nil ? missing : nil)
            } catch let refused as Refused {
                print("error: \(Redactor.shared.redact(refused.description))")
                throw ExitCode(2)
            }
            if since != nil {
                if !traces.isEmpty || ContinuousClock.now + wait > deadline {
                    print("found \(traces.count) trace\(traces.count == 1 ? "" : "s") since \(since!) ago")
                    for id in traces { print("found \(id)") }
                    throw ExitCode(traces.isEmpty ? 1 : 0)
                }
            } else {
                for id in missing where traces.contains(id) {
                    found.append(id)
                    print("found \(id)")
                }
                missing.removeAll { traces.contains($0) }
                if missing.isEmpty { return }
                if ContinuousClock.now + wait > deadline {
                    for id in missing { print("missing \(id)") }
                    throw ExitCode(1)
                }
            }
            try await Task.sleep(for: wait)
            wait = min(wait * 2, .seconds(10))
        }
    }

    struct Refused: Error, CustomStringConvertible {
        var description: String
    }

    /// One search: the ids of the traces found.
    private func search(key: String, from start: Date, to end: Date, ids: [String]?) async throws -> [String] {
        var writer = JSONWriter()
        writer.object { body in
            body.int("startDate", Int64(start.timeIntervalSince1970 * 1000))
            body.int("endDate", Int64(end.timeIntervalSince1970 * 1000))
            if let ids { body("traceIds") { $0.array(ids) { $0.string($1) } } }
            body.int("pageSize", 1000)
            body.string("format", "digest")
        }
        var base = endpoint
        while base.hasSuffix("/") { base.removeLast() }
        var request = HTTPClientRequest(url: base + "/api/traces/search")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "X-Auth-Token", value: key)
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        if let projectID { request.headers.add(name: "X-Project-Id", value: projectID) }
        request.body = .bytes(ByteBuffer(bytes: writer.bytes))
        let response = try await HTTPClient.traceTail.execute(request, timeout: .seconds(30))
        let body = Array(buffer: try await response.body.collect(upTo: 32 << 20))
        let text = String(decoding: body.prefix(300), as: UTF8.self)
        switch response.status.code {
        case 200: break
        case 401, 403: throw Refused(description: "the endpoint refused the API key (\(response.status.code)): \(text)")
        default: throw Refused(description: "the search API answered \(response.status.code): \(text)")
        }
        guard case .array(let traces)? = (try? JSONReader.parse(body))?["traces"] else {
            throw Refused(description: "the search API's reply has no traces: \(text)")
        }
        return traces.compactMap { $0["trace_id"]?.text }
    }

    private func resolvedKey() throws -> String? {
        if let apiKey { return apiKey }
        if let apiKeyFile {
            return String(decoding: try FileSystem.read(apiKeyFile), as: UTF8.self).trimmingWhitespace()
        }
        return ProcessInfo.processInfo.environment["LANGWATCH_API_KEY"]
    }

    /// `31d` as hours, which `ConfigDuration` reads.
    private static func days(_ text: String) -> String {
        guard text.hasSuffix("d"), let count = Int(text.dropLast()) else { return text }
        return "\(count * 24)h"
    }

    private func duration(_ text: String) -> Duration { ConfigDuration(parsing: Self.days(text))!.duration }

    private func seconds(_ text: String) -> TimeInterval {
        let value = duration(text).components
        return TimeInterval(value.seconds) + TimeInterval(value.attoseconds) / 1e18
    }
}
