import Foundation
import Testing
import TestSupport
import TraceTailCore

/// The binary under pressure: a data directory on a small, full filesystem, and SIGTERM with a backlog.
@Suite(.serialized) struct PressureTests {
    /// Mounts a tmpfs of `size` at `path` (possible as root, as CI runs); false when it cannot.
    func mountSmallFilesystem(_ path: String, size: String) throws -> Bool {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard getuid() == 0 else { return false }
        return run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path]) == 0
    }

    @discardableResult
    func run(_ executable: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Bytes still free on the filesystem holding `path`.
    func freeBytes(_ path: String) -> Int {
        var status = statvfs()
        guard statvfs(path, &status) == 0 else { return 0 }
        return Int(status.f_bavail) * Int(status.f_frsize)
    }

    func count(_ text: String, _ part: String) -> Int { text.components(separatedBy: part).count - 1 }

    @Test func aFullDataDirectoryHoldsBackAndDeliversEverythingOnceItDrains() async throws {
        let server = try await FakeLangWatch.down()
        defer { server.stop() }
        let root = temporaryDirectory()
        let data = root + "/data"
        let tmpfs = try mountSmallFilesystem(data, size: "2m")
        defer { if tmpfs { run("/bin/umount", ["-l", data]) } }
        // Without a small filesystem (not root), the same writes fail by injection while `full` exists.
        let full = tmpfs ? data + "/ballast" : root + "/full"
        var environment: [String: String] = [:]
        if tmpfs {
            print("PressureTests: the data directory is a real 2 MiB tmpfs")
            // Ballast leaves about 400 KiB for the disk buffer: a few of the file input's batches.
            try Data(count: freeBytes(data) - (400 << 10)).write(to: URL(fileURLWithPath: full))
        } else {
            print("PressureTests: not root, so no tmpfs: an injected ENOSPC (TRACETAIL_TEST_FULL_DISK) stands for a full disk")
            environment["TRACETAIL_TEST_FULL_DISK"] = full
            #expect(FileManager.default.createFile(atPath: full, contents: nil))
        }
        let logs = LogWriter(directory: root + "/logs")
        let lines = 0..<6000
        /// The lines delivered (a span's name is its line, perhaps shortened: the number identifies it).
        func delivered() -> Set<String> { Set(server.spans.map { String($0.name.prefix { $0 != "x" }) }) }
        logs.lines(lines, to: "app.log", padding: 200)
        let config = root + "/config.yaml"
        try """
            service: { data_dir: \(data), grace_period: 2s, http: { listen: "127.0.0.1:0", ready_failure_threshold: 10m } }
            pipelines:
              app:
                input: { type: file, include: ["\(logs.directory)/*.log"], poll_interval: 50ms }
                outputs:
                  - { type: otlp, endpoint: "\(server.url)/api/otel/v1/traces", headers: { X-Auth-Token: "\(FakeLangWatch.apiKey)" }, batch_wait: 20ms, initial_backoff: 20ms, max_backoff: 100ms, buffer: { type: disk, max_bytes: 64MiB } }
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let process = try RunningProcess(["run", "-c", config], environment: environment)
        let base = "http://127.0.0.1:\(try await servicePort(process))"

        // The disk fills: not ready, with the reason; counted; logged.
        try await eventuallyAsync("not ready") { (try? await httpGet(base + "/readyz"))?.status == 503 }
        let notReady = try await httpGet(base + "/readyz")
        #expect(notReady.body.contains("app/outputs[0]/queue: cannot write") && notReady.body.contains("No space left"), "\(notReady.body)")
        let failed = "cannot write to the data directory"
        #expect(process.stderr.contains(failed) && process.stderr.contains("file=queue"))
        try await eventuallyAsync("retries counted") {
            let metrics = (try? await httpGet(base + "/metrics"))?.body ?? ""
            return metrics.split(separator: "\n").contains {
                $0.hasPrefix("tracetail_data_dir_write_errors_total") && $0.contains(#"error="ENOSPC""#)
                    && $0.contains(#"file="queue""#) && (Double($0.split(separator: " ").last ?? "") ?? 0) >= 3
            }
        }
        #expect(count(process.stderr, failed) == 1, "logged once while it lasts, not per retry")
        #expect(server.spans.isEmpty)

        // The endpoint comes back and space is freed: delivery resumes by itself, nothing lost.
        try FileManager.default.removeItem(atPath: full)
        server.clearFaults()
        let expected = Set(lines.map { "app.log#\($0)" })
        do {
            try await eventually("every line") { delivered() == expected }
        } catch {
            Issue.record("\(delivered().count) of \(expected.count) delivered; \(process.stderr.suffix(3000))")
            throw error
        }
        #expect(server.spans.count == lines.count, "each line once")
        try await eventuallyAsync("ready again") { (try? await httpGet(base + "/readyz"))?.status == 200 }
        process.signal(SIGTERM)
        #expect(try await process.wait().status == 0)
        #expect(count(process.stderr, failed) == count(process.stderr, "writing to the data directory works again"),
                "each failure is logged once and its end once")
        let segments = try FileManager.default.contentsOfDirectory(atPath: data + "/app/outputs-0--buffer").filter { $0.hasSuffix(".seg") }
        #expect(segments.isEmpty, "a drained disk buffer frees its disk: \(segments)")
    }

    /// The input a backlog comes from: the webhook (requests keep coming while it drains) or a file input
    /// (written before the start; its checkpoints record what the drain delivered). The backlog drains well
    /// within the grace period: what a drain cut short by its deadline had sent of a batch is sent again.
    enum BacklogSource: String, CaseIterable, Sendable { case webhook, file }

    @Test(arguments: BacklogSource.allCases)
    func sigtermWithABacklogResendsNothingAcknowledged(_ source: BacklogSource) async throws {
        let slow = FakeLangWatch()
        try await slow.start()
        defer { slow.stop() }
        slow.inject(Array(repeating: .delay(.milliseconds(50)), count: 100_000), on: "/api/otel")
        let root = temporaryDirectory()
        let logs = LogWriter(directory: root + "/logs")
        let input = switch source {
        case .webhook: #"{ type: webhook, listen: "127.0.0.1:0" }"#
        case .file: #"{ type: file, include: ["\#(logs.directory)/*.log"], start_at: beginning }"#
        }
        func start(_ server: FakeLangWatch) throws -> RunningProcess {
            let config = root + "/config-\(server.port).yaml"
            try """
                service: { data_dir: \(root)/data, grace_period: 60s, http: { listen: "127.0.0.1:0" } }
                pipelines:
                  relay:
                    input: \(input)
                    parsers: [ { type: json } ]
                    queue: { max_batches: 1 }
                    outputs:
                      - { type: otlp, endpoint: "\(server.url)/api/otel/v1/traces", headers: { X-Auth-Token: "\(FakeLangWatch.apiKey)" }, batch_wait: 5ms, batch_spans: 20, concurrency: 1 }
                """.write(toFile: config, atomically: true, encoding: .utf8)
            return try RunningProcess(["run", "-c", config])
        }
        func message(_ number: Int) -> String { "backlog \(number)" }
        func body(_ request: Int) -> String {
            (0..<10).map { #"{"message":"\#(message(request * 10 + $0))"}"# }.joined(separator: "\n")
        }
        let fileLines = 1500
        if source == .file {
            try (0..<fileLines).map { #"{"message":"\#(message($0))"}"# + "\n" }.joined()
                .write(toFile: logs.directory + "/app.log", atomically: true, encoding: .utf8)
        }
        let first = try start(slow)
        // Webhook requests keep coming while the slow endpoint drains, and when SIGTERM arrives.
        var poster: Task<[Int], Never>?
        if source == .webhook {
            let url = "http://127.0.0.1:\(try await webhookPort(first))/ingest"
            poster = Task {
                var accepted: [Int] = []
                for request in 0..<1000 {
                    guard let reply = try? await httpPost(url, body(request), headers: ["Content-Type": "application/x-ndjson"]),
                          reply.status == 200 else { break }
                    accepted.append(request)
                }
                return accepted
            }
        }
        try await eventually("delivery under way") { slow.spans.count >= 200 }
        let deliveredBeforeSigterm = slow.spans.count
        first.signal(SIGTERM)
        let exit = try await first.wait()
        #expect(exit.status == 0, "\(exit.stderr)")
        let acknowledged = Set(slow.spans.map(\.name))
        #expect(acknowledged.count > deliveredBeforeSigterm, "a backlog was drained after SIGTERM")
        let expected = switch source {
        case .webhook: Set(await poster!.value.flatMap { request in (0..<10).map { message(request * 10 + $0) } })
        case .file: Set((0..<fileLines).map(message))
        }

        let healthy = FakeLangWatch()
        try await healthy.start()
        defer { healthy.stop() }
        let second = try start(healthy)
        _ = try await servicePort(second) // signals are handled from here on
        try await eventually("the backlog") { expected.isSubset(of: acknowledged.union(healthy.spans.map(\.name))) }
        second.signal(SIGTERM)
        let secondExit = try await second.wait()
        #expect(secondExit.status == 0, "\(secondExit.stderr.suffix(3000))")
        let resent = acknowledged.intersection(healthy.spans.map(\.name))
        #expect(resent.isEmpty, "\(resent.count) acknowledged records sent again")
    }
}
