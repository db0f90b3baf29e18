import Foundation
import Testing
import TestSupport
import TraceTailCore

/// The real binary tailing real files, killed and restarted.
@Suite(.serialized) struct FileRestartTests {
    /// Delivered lines: the `name` of every span the console printed as NDJSON.
    func spans(_ stdout: String) -> [String] {
        stdout.split(separator: "\n").compactMap { line in
            guard case .string(let name)? = try? JSONReader.parse(Array(line.utf8))["name"] else { return nil }
            return name
        }
    }

    func config(logs: String, data: String) throws -> String {
        let path = logs + "/../config.yaml"
        try """
            service: { data_dir: \(data), grace_period: 5s }
            pipelines:
              tail:
                input: { type: file, include: ["\(logs)/*.log"], poll_interval: 50ms, read_chunk: 64KiB }
                outputs: [ { type: console, format: json } ]
                queue: { max_batches: 4, max_bytes: 1MiB }
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func sigkillWhileTheOutputIsStuckLosesNothingAndDuplicatesOnlyWhatWasInFlight() async throws {
        let root = temporaryDirectory()
        let logs = LogWriter(directory: root + "/logs")
        let config = try config(logs: logs.directory, data: root + "/data")
        logs.lines(0..<20_000, to: "app.log", padding: 60)

        // Nobody reads standard output: the console blocks once the pipe is full, with batches in flight.
        let first = try RunningProcess(["run", "-c", config], readOutput: false)
        try await first.waitFor { $0.stderr.contains("following file") }
        try await Task.sleep(for: .seconds(3))
        first.signal(SIGKILL)
        let killed = try await first.wait()
        let beforeKill = spans(killed.stdout)
        #expect(beforeKill.count > 0 && beforeKill.count < 20_000, "\(beforeKill.count) delivered before the kill")

        logs.lines(20_000..<21_000, to: "app.log", padding: 60)
        let second = try RunningProcess(["run", "-c", config])
        try await second.waitFor { Set(beforeKill + spans($0.stdout)).count >= 21_000 }
        second.signal(SIGTERM)
        let resumed = try await second.wait()
        #expect(resumed.status == 0, "\(resumed.stderr)")

        let report = DeliveryReport(written: logs.written, delivered: beforeKill + spans(resumed.stdout))
        #expect(report.missing.isEmpty && report.unexpected.isEmpty, "\(report)")
        // At most the batches that were in flight come twice: the queues hold 4 batches each, a batch is one read.
        let duplicateBytes = report.duplicated.count * 70
        #expect(duplicateBytes <= 10 * (1 << 20), "\(report.duplicated.count) duplicated lines")
    }

    @Test func sigtermLeavesACleanCheckpointAndTheRestartDuplicatesNothing() async throws {
        let root = temporaryDirectory()
        let logs = LogWriter(directory: root + "/logs")
        let config = try config(logs: logs.directory, data: root + "/data")
        logs.lines(0..<3000, to: "app.log")
        let first = try RunningProcess(["run", "-c", config])
        try await first.waitFor { spans($0.stdout).count >= 3000 }
        first.signal(SIGTERM)
        let stopped = try await first.wait()
        #expect(stopped.status == 0, "\(stopped.stderr)")

        logs.lines(3000..<4000, to: "app.log")
        let second = try RunningProcess(["run", "-c", config])
        try await second.waitFor { spans($0.stdout).count >= 1000 }
        try await Task.sleep(for: .milliseconds(300))
        second.signal(SIGTERM)
        let resumed = try await second.wait()
        let report = DeliveryReport(written: logs.written, delivered: spans(stopped.stdout) + spans(resumed.stdout))
        #expect(report.missing.isEmpty && report.duplicated.isEmpty && report.unexpected.isEmpty, "\(report)")
    }

    @Test func onceBackfillsAndExits() async throws {
        let root = temporaryDirectory()
        let logs = LogWriter(directory: root + "/logs")
        let config = try config(logs: logs.directory, data: root + "/data")
        logs.lines(0..<5000, to: "a.log")
        logs.lines(0..<5000, to: "b.log")
        let result = try await runTracetail(["run", "--once", "-c", config])
        #expect(result.status == 0, "\(result.stderr)")
        let report = DeliveryReport(written: logs.written, delivered: spans(result.stdout))
        #expect(report.missing.isEmpty && report.duplicated.isEmpty, "\(report)")
    }
}
