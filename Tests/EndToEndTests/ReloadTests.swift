import Foundation
import Testing
import TestSupport
import TraceTailCore

/// Reloading the configuration of a running binary (SIGHUP, POST /-/reload).
@Suite(.serialized) struct ReloadTests {
    func config(_ root: String, _ logs: LogWriter, server: FakeLangWatch, batchWait: String, extra: String = "") -> String {
        let output = { (wait: String) in
            "[ { type: otlp, endpoint: \"\(server.url)/api/otel/v1/traces\", headers: { X-Auth-Token: \"\(FakeLangWatch.apiKey)\" }, batch_wait: \(wait) } ]"
        }
        return """
            service: { data_dir: \(root)/data, grace_period: 5s, http: { listen: "127.0.0.1:0" } }
            pipelines:
              a:
                input: { type: file, include: ["\(logs.directory)/a.log"], poll_interval: 50ms }
                outputs: \(output(batchWait))
              b:
                input: { type: file, include: ["\(logs.directory)/b.log"], poll_interval: 50ms }
                outputs: \(output("30ms"))
            \(extra)
            """
    }

    /// The binary running two pipelines over `a.log` and `b.log` (with `lines` lines each already), and where
    /// its service server is.
    func launch(_ server: FakeLangWatch, lines: Int, _ name: String = #function) async throws
        -> (root: String, logs: LogWriter, path: String, process: RunningProcess, base: String) {
        let root = temporaryDirectory(name)
        let logs = LogWriter(directory: root + "/logs")
        logs.lines(0..<lines, to: "a.log")
        logs.lines(0..<lines, to: "b.log")
        let path = root + "/config.yaml"
        try config(root, logs, server: server, batchWait: "30ms").write(toFile: path, atomically: true, encoding: .utf8)
        let process = try RunningProcess(["run", "-c", path])
        return (root, logs, path, process, "http://127.0.0.1:\(try await servicePort(process))")
    }

    @Test func aReloadUnderLoadLosesAndDuplicatesNothing() async throws {
        let server = FakeLangWatch()
        try await server.start()
        defer { server.stop() }
        let (root, logs, path, process, base) = try await launch(server, lines: 1)

        // Both files grow the whole time; pipeline a is reloaded twice in the middle (SIGHUP, then HTTP).
        let writer = Task {
            for n in 1..<400 {
                logs.lines(n..<n + 1, to: "a.log")
                logs.lines(n..<n + 1, to: "b.log")
                try await Task.sleep(for: .milliseconds(3))
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        try config(root, logs, server: server, batchWait: "40ms").write(toFile: path, atomically: true, encoding: .utf8)
        process.signal(SIGHUP)
        try await process.waitFor { $0.stderr.contains("configuration reloaded") }
        #expect(process.stderr.contains(#"restarted=["a"]"#) && process.stderr.contains(#"unchanged=["b"]"#), "\(process.stderr)")

        try await Task.sleep(for: .milliseconds(300))
        try config(root, logs, server: server, batchWait: "20ms").write(toFile: path, atomically: true, encoding: .utf8)
        let reply = try await httpPost(base + "/-/reload", "")
        #expect(reply.status == 200 && reply.body.contains("restarted [a]") && reply.body.contains("unchanged [b]"), "\(reply.body)")
        try await writer.value

        let expected = Set(logs.written)
        try await eventually("every line") { expected.isSubset(of: Set(server.spans.map(\.name))) }
        try await Task.sleep(for: .milliseconds(300))
        let spans = server.spans
        #expect(spans.count == expected.count, "\(spans.count) spans for \(expected.count) lines")
        #expect(Set(spans.map(\.spanID)).count == spans.count, "no span id twice")
        process.signal(SIGTERM)
        #expect(try await process.wait().status == 0)
    }

    @Test func anInvalidReloadKeepsThePipelinesRunning() async throws {
        let server = FakeLangWatch()
        try await server.start()
        defer { server.stop() }
        let (root, logs, path, process, base) = try await launch(server, lines: 5)
        try await eventually("the first lines") { server.spans.count == 10 }

        try config(root, logs, server: server, batchWait: "never").write(toFile: path, atomically: true, encoding: .utf8)
        let reply = try await httpPost(base + "/-/reload", "")
        #expect(reply.status == 400 && reply.body.contains("invalid") && reply.body.contains("batch_wait"), "[\(reply.body)]")
        process.signal(SIGHUP)
        try await process.waitFor { $0.stderr.components(separatedBy: "reload failed").count == 3 }

        logs.lines(5..<10, to: "a.log")
        logs.lines(5..<10, to: "b.log")
        try await eventually("lines after the failed reloads") { server.spans.count == 20 }
        #expect(try await httpGet(base + "/readyz").status == 200)
        process.signal(SIGTERM)
        #expect(try await process.wait().status == 0)
    }
}
