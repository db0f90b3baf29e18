import Foundation
import Testing
import TestSupport
import TraceTailCore

/// The service HTTP server of a running binary: `/metrics`, `/healthz`, `/readyz`.
@Suite(.serialized) struct ServiceServerTests {
    /// `name{labels} value` lines of Prometheus text, checked for shape; comment lines must be HELP or TYPE.
    func samples(_ text: String) -> [(name: String, labels: String, value: Double)] {
        var result: [(String, String, Double)] = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("#") {
                #expect(line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE "), "\(line)")
                continue
            }
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                Issue.record("not a sample: \(line)")
                continue
            }
            let series = line[..<space]
            let name = series.prefix { $0 != "{" }
            #expect(name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }, "\(name)")
            result.append((String(name), String(series.dropFirst(name.count)), value))
        }
        return result
    }

    func value(_ samples: [(name: String, labels: String, value: Double)], _ name: String, _ label: String = "") -> Double? {
        samples.first { $0.name == name && (label.isEmpty || $0.labels.contains(label)) }?.value
    }

    @Test func metricsMoveWithTrafficAndReadinessFollowsTheOutput() async throws {
        let server = FakeLangWatch()
        try await server.start()
        defer { server.stop() }
        let root = temporaryDirectory()
        let logs = LogWriter(directory: root + "/logs")
        logs.lines(0..<10, to: "app.log")
        let config = root + "/config.yaml"
        try """
            service: { data_dir: \(root)/data, grace_period: 1s, http: { listen: "127.0.0.1:0", ready_failure_threshold: 500ms } }
            pipelines:
              app:
                input: { type: file, include: ["\(logs.directory)/*.log"], poll_interval: 50ms }
                outputs:
                  - { type: otlp, endpoint: "\(server.url)/api/otel/v1/traces", headers: { X-Auth-Token: "\(FakeLangWatch.apiKey)" }, batch_wait: 20ms, initial_backoff: 50ms, max_backoff: 100ms }
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let process = try RunningProcess(["run", "-c", config])
        let base = "http://127.0.0.1:\(try await servicePort(process))"

        #expect(try await httpGet(base + "/healthz").status == 200)
        try await eventually("the first lines delivered") { server.spans.count == 10 }
        let ready = try await httpGet(base + "/readyz")
        #expect(ready.status == 200 && ready.body == "ready\n", "\(ready.body)")

        var metrics = try await httpGet(base + "/metrics")
        #expect(metrics.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        var parsed = samples(metrics.body)
        #expect(value(parsed, "tracetail_records_in_total", #"pipeline="app""#) == 10)
        #expect(value(parsed, "tracetail_lines_read_total", #"stage="input""#) == 10)
        #expect((value(parsed, "process_resident_memory_bytes") ?? 0) > 1_000_000)
        #expect((value(parsed, "process_open_fds") ?? 0) > 0)

        // The endpoint goes down: the output retries, and after the threshold the process is not ready.
        server.inject(Array(repeating: .status(503), count: 100_000), on: "/api/otel")
        logs.lines(10..<15, to: "app.log")
        try await eventuallyAsync("not ready") { (try? await httpGet(base + "/readyz"))?.status == 503 }
        let notReady = try await httpGet(base + "/readyz")
        #expect(notReady.body.contains("app/outputs[0] failing") && notReady.body.contains("503"), "\(notReady.body)")
        metrics = try await httpGet(base + "/metrics")
        parsed = samples(metrics.body)
        #expect(value(parsed, "tracetail_records_in_total", #"pipeline="app""#) == 15)
        #expect((value(parsed, "tracetail_http_retries_total", #"stage="outputs[0]""#) ?? 0) >= 1)

        // Back up: the retried batch goes through and readiness returns.
        server.clearFaults()
        try await eventuallyAsync("ready again") { (try? await httpGet(base + "/readyz"))?.status == 200 }
        #expect(server.spans.count == 15)
        process.signal(SIGTERM)
        #expect(try await process.wait().status == 0)
    }

    @Test func aStuckQueuesOldestEntryAgesInTheMetrics() async throws {
        let server = try await FakeLangWatch.down()
        defer { server.stop() }
        let root = temporaryDirectory()
        let config = root + "/config.yaml"
        try """
            service: { data_dir: \(root)/data, grace_period: 1s, http: { listen: "127.0.0.1:0" } }
            pipelines:
              app:
                input: { type: stdin, buffer: disk }
                outputs:
                  - { type: otlp, endpoint: "\(server.url)/api/otel/v1/traces", headers: { X-Auth-Token: "\(FakeLangWatch.apiKey)" }, batch_wait: 20ms, initial_backoff: 50ms, max_backoff: 100ms }
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let process = try RunningProcess(["run", "-c", config])
        let base = "http://127.0.0.1:\(try await servicePort(process))"
        process.write("one\ntwo\n")
        try await eventually("delivery attempts") { server.requests.count >= 1 }
        try await Task.sleep(for: .milliseconds(2200)) // nothing moves: no append, no acknowledgement
        let parsed = samples(try await httpGet(base + "/metrics").body)
        #expect(value(parsed, "tracetail_queue_entries", #"stage="input""#) == 1)
        #expect((value(parsed, "tracetail_queue_oldest_entry_age_seconds", #"stage="input""#) ?? 0) >= 2)
        process.signal(SIGKILL)
        _ = try await process.wait()
    }
}
