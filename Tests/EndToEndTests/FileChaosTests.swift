// The file input's model-based chaos test (issue #14, item 5) and three scenarios, all against the real binary
// with a recording OTLP server. The model, generator, runner/oracle and shrinker are in Tests/TestSupport
// (FileChaosModel.swift, FileChaosRun.swift, SequenceShrinker.swift, SeededRandom.swift).
//
// CI size (about a minute when everything passes; failures add up to TRACETAIL_CHAOS_SHRINK_SECONDS of shrinking
// for each of the first TRACETAIL_CHAOS_SHRINK_MAX failures):
//     swift test --filter FileChaos
// Long run (500 sequences, seeds 1…500; prints one line per sequence, then every failure):
//     TRACETAIL_CHAOS_SEQUENCES=500 swift test --filter FileChaosTests/randomOperationSequences
// Replay one seed, or one printed (e.g. shrunk) sequence:
//     TRACETAIL_CHAOS_SEED=17 swift test --filter FileChaosTests/randomOperationSequences
//     TRACETAIL_CHAOS_OPS="append(a,2000) rename(a,out) sigkill start" swift test --filter FileChaosTests/randomOperationSequences
// Other knobs: TRACETAIL_CHAOS_FIRST_SEED (1), TRACETAIL_CHAOS_SHRINK_RUNS (12 reruns per failure),
// TRACETAIL_CHAOS_SHRINK_SECONDS (90), TRACETAIL_CHAOS_SHRINK_MAX (2), TRACETAIL_CHAOS_INFLIGHT_MS (1000: how long
// before a SIGKILL a line's first delivery may be and still count as in flight).
import Foundation
import Testing
import TestSupport

/// The file input under random rotations, truncations, deletions, kills and damaged checkpoints.
@Suite(.serialized) struct FileChaosTests {
    static let environment = ProcessInfo.processInfo.environment

    static func number(_ name: String, _ fallback: Int) -> Int {
        environment[name].flatMap { Int($0) } ?? fallback
    }

    @Test func randomOperationSequences() async throws {
        let generator = FileChaosGenerator()
        var cases: [(seed: UInt64?, ops: [FileChaosOp])] = []
        if let text = Self.environment["TRACETAIL_CHAOS_OPS"] {
            let ops = try #require(FileChaosOp.parseList(text), "TRACETAIL_CHAOS_OPS is not a sequence: \(text)")
            cases = [(nil, ops)]
        } else if let seed = Self.environment["TRACETAIL_CHAOS_SEED"].flatMap({ UInt64($0) }) {
            cases = [(seed, generator.sequence(seed: seed))]
        } else {
            let first = Self.number("TRACETAIL_CHAOS_FIRST_SEED", 1)
            cases = (first..<first + Self.number("TRACETAIL_CHAOS_SEQUENCES", 8)).map { (UInt64($0), generator.sequence(seed: UInt64($0))) }
        }
        let shrinker = SequenceShrinker<FileChaosOp>(maxRuns: Self.number("TRACETAIL_CHAOS_SHRINK_RUNS", 12),
                                                     budget: .seconds(Self.number("TRACETAIL_CHAOS_SHRINK_SECONDS", 90)))
        let shrinkMax = Self.number("TRACETAIL_CHAOS_SHRINK_MAX", 2)
        var failures = 0
        for (seed, ops) in cases {
            let name = seed.map { "seed \($0)" } ?? "the given sequence"
            let verdict = try await FileChaosRun(ops: ops).run()
            let reasons = verdict.allowedLossReasons.map { "\($0.value) \($0.key)" }.sorted().joined(separator: "; ")
            print("file chaos \(name) (\(ops.count) ops): \(verdict.passed ? "ok" : "FAILED") — \(verdict.counts)"
                  + (reasons.isEmpty ? "" : " [allowed losses: \(reasons)]"))
            guard !verdict.passed else { continue }
            failures += 1
            var message = "\(name) failed: \(verdict)\n  ops: \(FileChaosOp.list(ops))"
            if failures <= shrinkMax {
                let kinds = verdict.failureKinds
                var smallest = verdict
                let (shrunk, runs) = try await shrinker.shrink(ops) { candidate in
                    let attempt = try await FileChaosRun(ops: candidate).run()
                    guard !attempt.passed, !attempt.failureKinds.isDisjoint(with: kinds) else { return false }
                    smallest = attempt
                    return true
                }
                message += "\n  shrunk (\(runs) reruns) to \(shrunk.count) ops: \(FileChaosOp.list(shrunk))"
                if shrunk.count < ops.count { message += "\n  the shrunk sequence's run: \(smallest)" }
                message += "\n  replay: TRACETAIL_CHAOS_OPS=\"\(FileChaosOp.list(shrunk))\" swift test --filter FileChaosTests/randomOperationSequences"
            }
            print(message)
            Issue.record(Comment(rawValue: message))
        }
        print("file chaos: \(cases.count - failures) of \(cases.count) sequences passed")
    }

    @Test func theGeneratorIsDeterministicAndItsSequencesReadBack() {
        let generator = FileChaosGenerator()
        for seed in UInt64(1)...50 {
            let ops = generator.sequence(seed: seed)
            #expect(ops == generator.sequence(seed: seed))
            #expect(FileChaosOp.parseList(FileChaosOp.list(ops)) == ops, "\(FileChaosOp.list(ops))")
            #expect(generator.operations.contains(ops.count))
        }
        #expect(generator.sequence(seed: 1) != generator.sequence(seed: 2))
    }

    @Test func theShrinkerFindsTheSmallestFailingSubsequence() async {
        let shrinker = SequenceShrinker<Int>(maxRuns: 1000, budget: .seconds(10))
        // Fails whenever 3 and 7 are both present.
        let (shrunk, _) = await shrinker.shrink(Array(0..<20)) { $0.contains(3) && $0.contains(7) }
        #expect(shrunk == [3, 7])
        let (bounded, runs) = await SequenceShrinker<Int>(maxRuns: 2, budget: .seconds(10)).shrink(Array(0..<20)) { $0.contains(3) }
        #expect(runs == 2 && bounded.contains(3))
    }

    // MARK: Scenarios

    /// A binary tailing `<root>/logs/*.log` and shipping to `server`.
    struct Setup {
        let root: String
        let logs: LogWriter
        let config: String

        init(server: FakeLangWatch, name: String = #function, input: String = "") throws {
            root = temporaryDirectory(name)
            logs = LogWriter(directory: root + "/logs")
            config = root + "/config.yaml"
            try FileChaosRun.configuration(logs: logs.directory, data: root + "/data", server: server, input: input)
                .write(toFile: config, atomically: true, encoding: .utf8)
        }

        /// Starts the binary; its spans carry `chaos.launch` = `number` as a resource attribute.
        func launch(_ number: Int = 1) async throws -> (RunningProcess, port: Int) {
            let process = try RunningProcess(["run", "-c", config], environment: ["TRACETAIL_CHAOS_LAUNCH": "\(number)"])
            return (process, try await servicePort(process))
        }
    }

    /// Waits until `condition` holds; false (not a throw) after `timeout`, so that the test can say what is missing.
    func waitUntil(_ timeout: Duration = .seconds(30), _ condition: () async -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while await !condition() {
            if ContinuousClock.now > deadline { return false }
            try await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    func names(_ server: FakeLangWatch) -> [String] { server.spans.map(\.name) }

    /// (a) `app.log` is renamed out of the glob while its lines are read and unacknowledged (every request fails);
    /// the binary notices, is SIGKILLed, and restarts with the server back: every line comes, none twice (none was
    /// acknowledged before the kill).
    @Test func renameAwayOutOfTheGlobThenSigkillLosesNothing() async throws {
        let server = FakeLangWatch()
        try await server.start()
        defer { server.stop() }
        server.inject(Array(repeating: .status(503), count: 100_000), on: "/v1/traces")
        let setup = try Setup(server: server)
        setup.logs.lines(0..<2000, to: "app.log", padding: 40)
        let (first, port) = try await setup.launch()
        let read = try await waitUntil { await serviceMetric("tracetail_lines_read_total", port: port) ?? 0 >= 2000 }
        #expect(read, "the binary did not read the 2000 lines")
        #expect(server.spans.isEmpty)
        setup.logs.rotate("app.log", to: "app.1.rotated")
        let noticed = try await waitUntil(.seconds(10)) { await serviceMetric("tracetail_rotations_total", port: port) ?? 0 >= 1 }
        #expect(noticed, "the binary did not notice the rename")
        setup.logs.lines(2000..<2100, to: "app.log", padding: 40)
        first.signal(SIGKILL)
        _ = try await first.wait()

        server.clearFaults()
        let (second, _) = try await setup.launch(2)
        let written = Set(setup.logs.written)
        _ = try await waitUntil { written.isSubset(of: names(server)) }
        try await Task.sleep(for: .milliseconds(1500)) // late repeats
        second.signal(SIGTERM)
        let stopped = try await second.wait()
        #expect(stopped.status == 0, "\(stopped.stderr)")
        let report = DeliveryReport(written: setup.logs.written, delivered: names(server))
        let renamedLost = report.missing.filter { line in
            line.hasPrefix("app.log#") && (Int(line.dropFirst(8).prefix(while: \.isNumber)) ?? 0) < 2000
        }.count
        let (lost, repeated, unexpected) = (report.missing.count, report.duplicated.count, report.unexpected.count)
        #expect(lost == 0, "lost \(lost) (\(renamedLost) of the renamed file's 2000): \(report) — \(setup.root)")
        #expect(repeated == 0 && unexpected == 0, "\(report) — \(setup.root)")
    }

    /// (b) Copy-truncate whose copy, inside the glob, is first seen empty and then filled, while 300 lines of the
    /// original are still in flight; for a file shorter than the fingerprint (identified by inode) and a longer
    /// one. Nothing was written between the copy and the truncation, so nothing may be missing; there is no kill,
    /// so nothing may come twice.
    @Test(arguments: [10, 600]) func copyTruncateWithACopyThatStartsEmpty(linesBefore: Int) async throws {
        let server = FakeLangWatch()
        try await server.start()
        defer { server.stop() }
        let setup = try Setup(server: server, name: "copyTruncate\(linesBefore)")
        let logs = setup.logs
        logs.lines(0..<linesBefore, to: "app.log", padding: 20)
        let (process, port) = try await setup.launch()
        #expect(try await waitUntil { Set(names(server)).isSuperset(of: logs.written) }, "the first lines were not delivered")

        logs.lines(linesBefore..<linesBefore + 300, to: "app.log", padding: 20)
        let copy = logs.path("app-1.copy.log")
        #expect(FileManager.default.createFile(atPath: copy, contents: nil))
        let seen = try await waitUntil(.seconds(10)) { await serviceMetric("tracetail_files_watched", port: port) ?? 0 >= 2 }
        #expect(seen, "the binary did not see the empty copy")
        let content = try #require(FileManager.default.contents(atPath: logs.path("app.log")))
        let handle = try #require(FileHandle(forWritingAtPath: copy))
        handle.write(content.prefix(content.count / 2 + 7)) // ends inside a line
        try await Task.sleep(for: .milliseconds(150))
        handle.write(content.dropFirst(content.count / 2 + 7))
        try handle.close()
        #expect(truncate(logs.path("app.log"), 0) == 0)
        logs.lines(linesBefore + 300..<linesBefore + 400, to: "app.log", padding: 20)

        _ = try await waitUntil { Set(names(server)).isSuperset(of: logs.written) }
        try await Task.sleep(for: .milliseconds(2000)) // late repeats: a copy is held back ~1 s to be told from a distinct file
        process.signal(SIGTERM)
        let stopped = try await process.wait()
        #expect(stopped.status == 0, "\(stopped.stderr)")
        let report = DeliveryReport(written: logs.written, delivered: names(server))
        let (lost, repeated, unexpected) = (report.missing.count, report.duplicated.count, report.unexpected.count)
        #expect(lost == 0 && unexpected == 0, "\(report) — \(setup.root)")
        #expect(repeated == 0, "\(repeated) of \(logs.written.count) lines came twice: \(report) — \(setup.root)")
    }

    /// (c) A writer at about 10 000 lines/s; one SIGKILL 1.5 s in; restart. Repeats are bounded by what was in
    /// flight: lines delivered by the killed launch that the server accepted in the last 250 ms before the kill or
    /// later — the binary learns of an acknowledgement within one local round trip, so a checkpoint that keeps
    /// up with acknowledgements is at most that far behind — plus one read chunk (64 KiB of lines: a batch is
    /// acknowledged as a whole, and a request may carry only part of one). A 1 s checkpoint timer repeats up to
    /// ~10 000 lines.
    @Test func oneSigkillAtTenThousandLinesPerSecondRepeatsOnlyWhatWasInFlight() async throws {
        let server = FakeLangWatch()
        try await server.start()
        defer { server.stop() }
        let setup = try Setup(server: server)
        let logs = setup.logs
        let padding = 40
        let (first, _) = try await setup.launch()
        let writer = Task {
            let start = ContinuousClock.now
            for tick in 0..<300 { // 3 s: 100 lines every 10 ms
                logs.lines(tick * 100..<(tick + 1) * 100, to: "app.log", padding: padding)
                try await Task.sleep(until: start + .milliseconds(10 * (tick + 1)), clock: .continuous)
            }
        }
        try await Task.sleep(for: .milliseconds(1500))
        let killedAt = ContinuousClock.now
        first.signal(SIGKILL)
        _ = try await first.wait()
        let (second, _) = try await setup.launch(2)
        try await writer.value
        let written = Set(logs.written)
        _ = try await waitUntil(.seconds(60)) { written.isSubset(of: names(server)) }
        try await Task.sleep(for: .milliseconds(1500))
        second.signal(SIGTERM)
        let stopped = try await second.wait()
        #expect(stopped.status == 0, "\(stopped.stderr)")

        var firstArrival: [String: (at: ContinuousClock.Instant, launch: String?)] = [:]
        for (span, at) in server.acceptedSpans(from: 0) where firstArrival[span.name] == nil {
            firstArrival[span.name] = (at, span.resource["chaos.launch"])
        }
        let fromTheKilled = firstArrival.values.filter { $0.launch == "1" }
        let inFlight = fromTheKilled.filter { $0.at >= killedAt - .milliseconds(250) }.count
        let lineBytes = "app.log#15000".utf8.count + padding + 1
        let bound = inFlight + 65_536 / lineBytes
        let report = DeliveryReport(written: logs.written, delivered: names(server))
        let deliveredBeforeKill = fromTheKilled.count
        let (lost, repeated, unexpected) = (report.missing.count, report.duplicated.count, report.unexpected.count)
        print("10k lines/s + SIGKILL: written \(logs.written.count), delivered before the kill \(deliveredBeforeKill), repeated \(repeated), bound \(bound) (in flight \(inFlight))")
        #expect(lost == 0 && unexpected == 0, "\(report) — \(setup.root)")
        #expect(repeated <= bound,
                "\(repeated) lines came twice; in flight at the kill: \(inFlight) + one chunk = \(bound); delivered before the kill: \(deliveredBeforeKill) — \(setup.root)")
    }
}
