import BuiltinPlugins
import Foundation
import ServiceLifecycleTestKit
import Testing
import TestSupport

/// Runs a pipeline `file → recording output` in this process while the test writes files.
final class Tailing: @unchecked Sendable {
    // @unchecked: the test's task drives it; the output records under its own lock.
    let logs: LogWriter
    let data: String
    let output: RecordingOutput

    convenience init(_ name: String = #function, output: RecordingOutput = RecordingOutput()) {
        let root = temporaryDirectory(name)
        self.init(sharing: LogWriter(directory: root + "/logs"), data: root + "/data", output: output)
    }

    /// A run over the same logs and data directory as an earlier one.
    init(sharing logs: LogWriter, data: String, output: RecordingOutput = RecordingOutput()) {
        self.logs = logs
        self.data = data
        self.output = output
    }

    /// The raw text of every delivered record, in delivery order.
    var delivered: [String] { output.batches.flatMap { batch in batch.records.map { batch.rawText($0) } } }
    var records: [Record] { output.batches.flatMap(\.records) }

    func pipeline(_ input: String, once: Bool = false) throws -> Pipeline {
        let text = """
            pipelines:
              files:
                input: \(input)
                outputs: [ { type: console } ]
            """
        let config = try ConfigLoader.load(text: text, file: "t.yaml", registry: BuiltinPlugins.registry(), environment: [:])
        var spec = config.pipelines[0]
        let recording = output
        spec.outputs = [ConfiguredPlugin(kind: "recording", stageName: "outputs[0]", location: spec.location) { _ in recording }]
        return try Pipeline(spec: spec, dataDirectory: data, logger: .init(label: "test"), once: once)
    }

    /// Runs the input while `body` writes; then waits for `expected` records (if given) and shuts down gracefully.
    func run(_ input: String, expecting expected: Int? = nil, _ body: () async throws -> Void) async throws {
        let pipeline = try pipeline(input)
        try await testGracefulShutdown { trigger in
            let running = Task { try await pipeline.run() }
            do {
                try await body()
                if let expected {
                    try await eventually("\(expected) records (have \(delivered.count))") {
                        delivered.count >= expected
                    }
                    try await Task.sleep(for: .milliseconds(300)) // room for duplicates to show up
                }
            } catch {
                trigger.triggerGracefulShutdown()
                _ = try? await running.value
                throw error
            }
            trigger.triggerGracefulShutdown()
            try await running.value
        }
    }

    func input(_ options: String = "") -> String {
        let defaults = options.contains("poll_interval") ? "" : "poll_interval: 50ms, "
        return "{ type: file, include: [\"\(logs.directory)/*.log*\"], \(defaults)rotate_wait: 300ms\(options.isEmpty ? "" : ", " + options) }"
    }

    func checkpoints() throws -> JSONValue {
        try JSONReader.parse(try FileSystem.read(data + "/files/checkpoints-input.json"))
    }
}

@Suite(.serialized) struct FileInputTests {
    @Test func readsExistingAndNewFilesAndLinesWrittenLater() async throws {
        let tailing = Tailing()
        tailing.logs.lines(0..<100, to: "a.log", padding: 10) // over 1 KiB: known by its fingerprint at once
        try await tailing.run(tailing.input(), expecting: 300) {
            try await Task.sleep(for: .milliseconds(200))
            tailing.logs.lines(100..<200, to: "a.log")
            tailing.logs.lines(0..<100, to: "b.log") // appears later
        }
        let report = DeliveryReport(written: tailing.logs.written, delivered: tailing.delivered)
        #expect(report.missing.isEmpty && report.duplicated.isEmpty && report.unexpected.isEmpty, "\(report)")
        // Offsets and identity travel with each record.
        let index = try #require(tailing.delivered.firstIndex(of: "a.log#0xxxxxxxxxx"))
        let first = tailing.records[index]
        #expect(first.position.source.hasSuffix("/logs/a.log"))
        #expect(first.position.offsets == 0..<18)
        #expect(first.position.identity.hasPrefix("fp:"))
    }

    @Test(arguments: ["inotify", "poll"])
    func discoversFilesThatAppearLater(_ mode: String) async throws {
        let tailing = Tailing("discovers-\(mode)")
        try await tailing.run(tailing.input("watch: \(mode)"), expecting: 30) {
            try await Task.sleep(for: .milliseconds(300))
            tailing.logs.lines(0..<10, to: "late.log")
            try FileManager.default.createDirectory(atPath: tailing.logs.directory + "/sub", withIntermediateDirectories: true)
            tailing.logs.lines(0..<20, to: "later.log")
        }
        let report = DeliveryReport(written: tailing.logs.written, delivered: tailing.delivered)
        #expect(report.missing.isEmpty && report.duplicated.isEmpty, "\(report)")
    }

    @Test func newFilesAreFoundWhileABacklogIsBeingRead() async throws {
        // A slow output keeps the reader busy with a large file for seconds: discovery must go on meanwhile.
        // About 100 batches of 16 KiB at 50 ms each: some 5 s of backlog.
        let tailing = Tailing(output: RecordingOutput(.init(delay: .milliseconds(50))))
        tailing.logs.lines(0..<100_000, to: "backlog.log")
        try await tailing.run(tailing.input("poll_interval: 100ms, read_chunk: 16KiB"), expecting: 100_010) {
            try await Task.sleep(for: .milliseconds(300))
            tailing.logs.lines(0..<10, to: "new.log")
            try await eventually { tailing.delivered.contains("new.log#9") }
            let backlog = tailing.delivered.filter { $0.hasPrefix("backlog.log") }.count
            #expect(backlog < 100_000, "the new file was found only after the backlog was read")
        }
        let report = DeliveryReport(written: tailing.logs.written, delivered: tailing.delivered)
        #expect(report.missing.isEmpty && report.duplicated.isEmpty, "\(report)")
    }

    @Test func renameRotationWhileWritingLosesAndDuplicatesNothing() async throws {
        let tailing = Tailing()
        let outside = tailing.logs.directory + "/../rotated"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        var expected = 0
        try await tailing.run(tailing.input(), expecting: 6000) {
            // Three files at about 3,000 lines/s in all; two rotate to names inside the glob, one out of it.
            var numbers = [0, 0, 0]
            for round in 0..<20 {
                for file in 0..<3 {
                    tailing.logs.lines(numbers[file]..<numbers[file] + 100, to: "app\(file).log", padding: 40)
                    numbers[file] += 100
                }
                if round % 5 == 4 {
                    tailing.logs.rotate("app0.log", to: "app0.log.\(round)")
                    tailing.logs.rotate("app1.log", to: "app1.log.\(round)")
                    tailing.logs.rotate("app2.log", to: "../rotated/app2.log.\(round)")
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            expected = numbers.reduce(0, +)
        }
        #expect(expected == 6000)
        let report = DeliveryReport(written: tailing.logs.written, delivered: tailing.delivered)
        #expect(report.missing.isEmpty && report.duplicated.isEmpty && report.unexpected.isEmpty, "\(report)")
    }

    @Test func copyTruncateDuplicatesNothingAndCountsWhatItCannotSee() async throws {
        let tailing = Tailing()
        try await tailing.run(tailing.input(), expecting: 900) {
            for round in 0..<3 {
                tailing.logs.lines(round * 300..<round * 300 + 300, to: "app.log")
                try await Task.sleep(for: .milliseconds(300))
                tailing.logs.copyTruncate("app.log", to: "app.log.\(round)") // the copy is inside the glob
            }
        }
        let report = DeliveryReport(written: tailing.logs.written, delivered: tailing.delivered)
        #expect(report.duplicated.isEmpty, "\(report)")
        #expect(report.missing.isEmpty, "\(report)")
    }

    @Test func aCopyWrittenSlowerThanTheRotateWaitIsStillTheCopy() async throws {
        let tailing = Tailing()
        try await tailing.run(tailing.input(), expecting: 2000) {
            tailing.logs.lines(0..<1000, to: "app.log")
            try await eventually { tailing.delivered.count == 1000 }
            // Copied in ten pieces over a second (rotate_wait is 300 ms), as `cp` copies a big file; then truncated.
            let content = Array(FileManager.default.contents(atPath: tailing.logs.path("app.log"))!)
            let copy = open(tailing.logs.path("app.log.1"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            for piece in 0..<10 {
                let range = content.count * piece / 10..<content.count * (piece + 1) / 10
                _ = content[range].withUnsafeBytes { write(copy, $0.baseAddress, $0.count) }
                try await Task.sleep(for: .milliseconds(100))
            }
            close(copy)
            #expect(truncate(tailing.logs.path("app.log"), 0) == 0)
            tailing.logs.lines(1000..<2000, to: "app.log")
        }
        let report = DeliveryReport(written: tailing.logs.written, delivered: tailing.delivered)
        #expect(report.missing.isEmpty && report.duplicated.isEmpty && report.unexpected.isEmpty, "\(report)")
    }

    @Test func truncateInPlaceThenAppendAndRewriteLongerThanTheOldOffset() async throws {
        let tailing = Tailing()
        var rewritten: [String] = []
        try await tailing.run(tailing.input(), expecting: 400) {
            tailing.logs.lines(0..<100, to: "app.log")
            try await eventually { tailing.delivered.count == 100 }
            tailing.logs.reopen("app.log")
            #expect(truncate(tailing.logs.path("app.log"), 0) == 0)
            try await Task.sleep(for: .milliseconds(200))
            tailing.logs.lines(100..<150, to: "app.log")
            try await eventually { tailing.delivered.count == 150 }
            // Truncated and rewritten past the old offset before the tailer looks: only the new first bytes tell.
            tailing.logs.reopen("app.log")
            let longer = (0..<250).map { "rewrite#\($0)" }
            rewritten = longer
            let text = longer.joined(separator: "\n") + "\n"
            #expect(FileManager.default.createFile(atPath: tailing.logs.path("app.log"), contents: Data(text.utf8)))
        }
        let report = DeliveryReport(written: tailing.logs.written + rewritten, delivered: tailing.delivered)
        #expect(report.missing.isEmpty && report.duplicated.isEmpty && report.unexpected.isEmpty, "\(report)")
    }

    @Test func deleteAndRecreateIdenticalFirstKibAndTinyFiles() async throws {
        let tailing = Tailing()
        let header = String(repeating: "H", count: 1100) // the same first KiB in two different files
        var expected: [String] = []
        try await tailing.run(tailing.input(), expecting: 2 + 60 + 2 + 40) {
            tailing.logs.append(header + "\n", to: "twin1.log")
            tailing.logs.append(header + "\n", to: "twin2.log")
            tailing.logs.lines(0..<30, to: "twin1.log")
            tailing.logs.lines(0..<30, to: "twin2.log")
            tailing.logs.append("", to: "empty.log")
            tailing.logs.append("t\n", to: "tiny.log")
            tailing.logs.append("ok\n", to: "tiny2.log")
            expected = [header, header, "t", "ok"]
            try await Task.sleep(for: .milliseconds(1500)) // the twins wait to be told from a copy
            tailing.logs.lines(0..<20, to: "gone.log")
            try await eventually { tailing.delivered.count >= 84 }
            tailing.logs.reopen("gone.log")
            #expect(unlink(tailing.logs.path("gone.log")) == 0)
            try await Task.sleep(for: .milliseconds(700)) // let go of the deleted file
            tailing.logs.lines(20..<40, to: "gone.log") // re-created, possibly on the same inode
        }
        let report = DeliveryReport(written: tailing.logs.written + expected, delivered: tailing.delivered)
        #expect(report.missing.isEmpty && report.duplicated.filter { $0 != header }.isEmpty && report.unexpected.isEmpty, "\(report)")
        #expect(tailing.delivered.filter { $0 == header }.count == 2)
    }

    @Test func partialLinesWaitForTheirNewlineAndLongLinesAreCut() async throws {
        let tailing = Tailing()
        let big = String(repeating: "z", count: 10 << 20)
        try await tailing.run(tailing.input("max_line_bytes: 1MiB"), expecting: 3) {
            tailing.logs.append("first half", to: "app.log")
            try await Task.sleep(for: .milliseconds(300))
            #expect(tailing.delivered.isEmpty)
            tailing.logs.append(" second half\n", to: "app.log")
            tailing.logs.append(big + "\n", to: "app.log")
            tailing.logs.append("after the big one\n", to: "app.log")
        }
        #expect(tailing.delivered.count == 3)
        #expect(tailing.delivered[0] == "first half second half")
        #expect(tailing.delivered[1].utf8.count == 1 << 20)
        #expect(tailing.records[1].attributes["tracetail.truncated"] == .bool(true))
        #expect(tailing.delivered[2] == "after the big one")
    }

    @Test func aJavaStackTraceIsOneRecordEvenAcrossWrites() async throws {
        let tailing = Tailing()
        try await tailing.run(tailing.input(#"multiline: { start_pattern: '^\d{4}-\d{2}-\d{2}', timeout: 300ms }"#), expecting: 3) {
            tailing.logs.append("2026-01-01 00:00:00 ERROR request failed\njava.lang.IllegalStateException: boom\n", to: "app.log")
            try await Task.sleep(for: .milliseconds(150))
            tailing.logs.append("\tat com.acme.Service.call(Service.java:42)\nCaused by: java.io.IOException: reset\n\tat x.y(Z.java:1)\n", to: "app.log")
            tailing.logs.append("2026-01-01 00:00:01 INFO next\n", to: "app.log")
            tailing.logs.append("2026-01-01 00:00:02 INFO last\n", to: "app.log") // emitted by the timeout
        }
        #expect(tailing.delivered == [
            "2026-01-01 00:00:00 ERROR request failed\njava.lang.IllegalStateException: boom\n\tat com.acme.Service.call(Service.java:42)\nCaused by: java.io.IOException: reset\n\tat x.y(Z.java:1)",
            "2026-01-01 00:00:01 INFO next",
            "2026-01-01 00:00:02 INFO last",
        ])
        #expect(tailing.records[0].position.offsets.lowerBound == 0)
    }

    @Test func startAtEndSkipsWhatWasThereButNotNewFiles() async throws {
        let tailing = Tailing()
        tailing.logs.lines(0..<50, to: "old.log")
        try await tailing.run(tailing.input("start_at: end"), expecting: 20) {
            try await Task.sleep(for: .milliseconds(200))
            tailing.logs.lines(50..<60, to: "old.log")
            tailing.logs.lines(0..<10, to: "new.log")
        }
        #expect(Set(tailing.delivered) == Set((50..<60).map { "old.log#\($0)" } + (0..<10).map { "new.log#\($0)" }))
    }

    @Test func checkpointsResumeWithoutDuplicatesAfterAGracefulStop() async throws {
        let tailing = Tailing()
        tailing.logs.lines(0..<100, to: "app.log")
        try await tailing.run(tailing.input(), expecting: 100) {}
        let offsets = try tailing.checkpoints()
        guard case .array(let files)? = offsets["files"] else { Issue.record("no files"); return }
        #expect(files.first?["offset"] == .int(Int64(tailing.logs.written.reduce(0) { $0 + $1.utf8.count + 1 })))
        tailing.logs.lines(100..<150, to: "app.log")
        let second = Tailing(sharing: tailing.logs, data: tailing.data)
        try await second.run(second.input(), expecting: 50) {}
        #expect(second.delivered == (100..<150).map { "app.log#\($0)" })
    }

    @Test(arguments: ["corrupt", "empty", "truncated", "leftover"])
    func aDamagedCheckpointIsReportedAndReadingStarts(_ damage: String) async throws {
        let tailing = Tailing("damaged-\(damage)")
        tailing.logs.lines(0..<20, to: "app.log")
        let path = tailing.data + "/files/checkpoints-input.json"
        try FileSystem.createDirectory(tailing.data + "/files")
        let valid = #"{"version":1,"files":[{"id":"x","path":"/nope","offset":5,"prefix_length":0,"prefix_hash":"0","updated":1}]}"#
        switch damage {
        case "corrupt": try Data("{\"version\":1,\"files\":[{\"id\":".utf8).write(to: URL(fileURLWithPath: path))
        case "empty": try Data().write(to: URL(fileURLWithPath: path))
        case "truncated": try Data(valid.utf8.prefix(40)).write(to: URL(fileURLWithPath: path))
        default: try Data(valid.utf8).write(to: URL(fileURLWithPath: path + ".tmp")) // a crash before the rename
        }
        try await tailing.run(tailing.input(), expecting: 20) {}
        #expect(tailing.delivered.count == 20)
        let names = try FileManager.default.contentsOfDirectory(atPath: tailing.data + "/files")
        if damage == "leftover" {
            #expect(!names.contains { $0.contains("corrupt") })
        } else {
            #expect(names.contains { $0.hasPrefix("checkpoints-input.json.corrupt-") }, "\(names)")
        }
        #expect(try tailing.checkpoints()["version"] == .int(2))
    }

    @Test func onceReadsEverythingWaitsForDeliveryAndReturns() async throws {
        let tailing = Tailing()
        tailing.logs.lines(0..<500, to: "a.log")
        tailing.logs.lines(0..<500, to: "b.log")
        tailing.logs.append("no newline at the end", to: "b.log")
        let pipeline = try tailing.pipeline(tailing.input(), once: true)
        try await pipeline.run()
        #expect(tailing.delivered.count == 1001)
        guard case .array(let files)? = try tailing.checkpoints()["files"] else { Issue.record("no checkpoints"); return }
        #expect(files.count == 2)
    }

    @Test func symbolicLinksResolveAndAFileMatchedTwiceIsReadOnce() async throws {
        let tailing = Tailing()
        let elsewhere = LogWriter(directory: tailing.logs.directory + "/../pods")
        elsewhere.lines(0..<50, to: "container.log")
        #expect(symlink(elsewhere.path("container.log"), tailing.logs.path("link.log")) == 0)
        #expect(symlink(elsewhere.path("container.log"), tailing.logs.path("second-link.log")) == 0)
        try await tailing.run(tailing.input(), expecting: 70) {
            elsewhere.lines(50..<70, to: "container.log")
        }
        let report = DeliveryReport(written: elsewhere.written, delivered: tailing.delivered)
        #expect(report.missing.isEmpty && report.duplicated.isEmpty, "\(report)")
        #expect(tailing.records.allSatisfy { $0.position.source.hasSuffix("link.log") })
    }

    @Test func manyFilesStayWithinTheOpenFileCap() async throws {
        let tailing = Tailing()
        for index in 0..<300 { tailing.logs.lines(0..<3, to: "f\(index).log") }
        tailing.logs.closeAll()
        try await tailing.run(tailing.input("max_open_files: 20"), expecting: 900) {}
        let report = DeliveryReport(written: tailing.logs.written, delivered: tailing.delivered)
        #expect(report.missing.isEmpty && report.duplicated.isEmpty, "\(report)")
    }

    /// This process's descriptors open on files under `directory` (a deleted file's link reads
    /// "<path> (deleted)").
    func descriptors(under directory: String) -> Int {
        let links = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return links.count { name in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + name))?.hasPrefix(directory + "/") == true
        }
    }

    @Test(arguments: ["inotify", "poll"])
    func theDescriptorsOfDeletedIdleFilesAreReleasedLongBeforeCloseInactive(_ mode: String) async throws {
        let tailing = Tailing("deletedIdleFiles-\(mode)")
        let count = 40
        for index in 0..<count { tailing.logs.lines(0..<2, to: "idle\(index).log") }
        tailing.logs.closeAll()
        // close_inactive is an hour: an idle file that still exists stays open all test long.
        try await tailing.run(tailing.input("watch: \(mode), close_inactive: 1h"), expecting: 2 * count) {
            try await eventually("every file open") { descriptors(under: tailing.logs.directory) == count }
            for index in 0..<count / 2 { unlink(tailing.logs.path("idle\(index).log")) }
            try await eventually("the deleted files' descriptors released (open: \(descriptors(under: tailing.logs.directory)))") {
                descriptors(under: tailing.logs.directory) == count - count / 2
            }
        }
        let report = DeliveryReport(written: tailing.logs.written, delivered: tailing.delivered)
        #expect(report.missing.isEmpty && report.duplicated.isEmpty, "\(report)")
    }
}

