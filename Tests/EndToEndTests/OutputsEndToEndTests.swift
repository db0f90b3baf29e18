import Foundation
import Testing
import TestSupport
import TraceTailCore

/// The binary backfilling a log through all three outputs while the server fails their first requests.
@Suite(.serialized) struct OutputsEndToEndTests {
    func string(_ value: JSONValue?) -> String? {
        if case .string(let text)? = value { text } else { nil }
    }

    @Test func everyRecordArrivesOncePerOutputDespiteFailures() async throws {
        let server = FakeLangWatch()
        try await server.start()
        defer { server.stop() }
        server.inject([.status(503), .status(502, headers: ["Retry-After": "0"])], on: "/api/otel")
        server.inject([.status(500, body: #"{"message":"Failed to ingest all 3 spans, please retry"}"#), .status(503)], on: "/api/collector")
        server.inject([.status(503), .status(429, headers: ["Retry-After": "0"])], on: "/runs/batch")

        let root = temporaryDirectory()
        let logs = LogWriter(directory: root + "/logs")
        var lines: [String] = []
        for n in 0..<300 {
            lines.append(#"{"ts":"2026-01-01T00:00:00.\#(String(format: "%03d", n % 1000))Z","msg":"call \#(n)","request_id":"req-\#(n / 3)","span_id":"span-\#(n)","model":"gpt-4o-mini","prompt_tokens":\#(n),"completion_tokens":1}"#)
        }
        logs.append(lines.joined(separator: "\n") + "\n", to: "app.log")
        let config = root + "/config.yaml"
        let retry = "initial_backoff: 20ms, max_backoff: 200ms"
        try """
            service: { data_dir: \(root)/data }
            pipelines:
              app:
                input: { type: file, include: ["\(logs.directory)/*.log"] }
                parsers: [ { type: json, trace_id_from: request_id } ]
                outputs:
                  - { type: otlp, endpoint: "\(server.url)/api/otel/v1/traces", headers: { X-Auth-Token: "${KEY}" }, batch_wait: 100ms, \(retry) }
                  - { type: langwatch, endpoint: "\(server.url)", api_key: "${KEY}", trace_quiet: 100ms, \(retry) }
                  - { type: langsmith, endpoint: "\(server.url)", api_key: "\(FakeLangWatch.langSmithKey)", trace_quiet: 100ms, \(retry) }
            """.write(toFile: config, atomically: true, encoding: .utf8)

        let result = try await runTracetail(["run", "--once", "-c", config], environment: ["KEY": FakeLangWatch.apiKey])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains(FakeLangWatch.apiKey), "the API key must never be logged")

        let expectedIDs = Set(lines.indices.map { SpanID(hashing: "span-\($0)".utf8).description })
        #expect(Set(server.spans.map(\.spanID)) == expectedIDs)
        #expect(Set(server.collectorSpans.compactMap { string($0["span_id"]) }) == expectedIDs)
        #expect(Set(server.runs.compactMap { string($0["name"]) }) == Set(lines.indices.map { "call \($0)" }))
        #expect(server.runs.count >= 300)
        // Each path saw its two failures first, then only successes.
        for path in ["/api/otel", "/api/collector", "/runs/batch"] {
            let statuses = server.requests.filter { $0.path.hasPrefix(path) }.map(\.status)
            #expect(statuses.prefix(2).allSatisfy { $0 >= 500 || $0 == 429 } && statuses.dropFirst(2).allSatisfy { $0 < 300 }, "\(path): \(statuses)")
        }
        #expect(!FileManager.default.fileExists(atPath: root + "/data/app/dead-letter-outputs[0].ndjson"))
    }

    @Test func shutdownDuringAnOutageLeavesTheRecordsForTheNextRun() async throws {
        let server = try await FakeLangWatch.down()
        defer { server.stop() }
        let root = temporaryDirectory()
        let logs = LogWriter(directory: root + "/logs")
        logs.lines(0..<50, to: "app.log")
        let config = root + "/config.yaml"
        try """
            service: { data_dir: \(root)/data, grace_period: 1s }
            pipelines:
              app:
                input: { type: file, include: ["\(logs.directory)/*.log"], poll_interval: 50ms }
                outputs:
                  - { type: otlp, endpoint: "\(server.url)/api/otel/v1/traces", headers: { X-Auth-Token: "\(FakeLangWatch.apiKey)" }, batch_wait: 50ms, initial_backoff: 50ms, max_backoff: 100ms }
            """.write(toFile: config, atomically: true, encoding: .utf8)

        let first = try RunningProcess(["run", "-c", config])
        try await eventually("retries") { server.requests.count >= 3 }
        first.signal(SIGTERM)
        let started = ContinuousClock.now
        let stopped = try await first.wait()
        #expect(ContinuousClock.now - started < .seconds(5), "retrying must not hold the shutdown past the grace period")
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(server.spans.isEmpty)

        server.clearFaults()
        let second = try RunningProcess(["run", "-c", config])
        try await eventually("delivery after the restart") { Set(server.spans.map(\.spanID)).count == 50 }
        second.signal(SIGTERM)
        _ = try await second.wait()
    }
}
