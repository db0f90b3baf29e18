import Foundation

/// Timings of the chaos runs; every wait is for a condition, these only bound it.
public struct FileChaosSettings: Sendable {
    /// A line may come again after a SIGKILL only when the killed launch's delivery of it was accepted by the
    /// server at most this long before the kill, or later (it was in flight: its acknowledgement had not reached
    /// the checkpoint). Deliveries are told apart by launch through the `chaos.launch` resource attribute.
    /// `TRACETAIL_CHAOS_INFLIGHT_MS`.
    public var inFlightWindow = Duration.seconds(1)
    /// A wait for deliveries gives up when nothing has arrived for this long.
    public var quiet = Duration.seconds(5)
    /// How long the binary may take to notice a rename or deletion (`rotations_total` moves).
    public var noticeTimeout = Duration.seconds(3)

    public init() {}

    public static func fromEnvironment() -> FileChaosSettings {
        var settings = FileChaosSettings()
        if let text = ProcessInfo.processInfo.environment["TRACETAIL_CHAOS_INFLIGHT_MS"], let milliseconds = Int(text) {
            settings.inFlightWindow = .milliseconds(milliseconds)
        }
        return settings
    }
}

/// One written line: its number, its text, and the file it was written to.
enum ChaosLine {
    static func text(_ number: Int) -> String {
        "chaos-\(number)-" + String(repeating: "x", count: (number &* 37) % 61)
    }

    /// The number of a delivered span's name, nil when it is not one of ours.
    static func number(_ name: String) -> Int? {
        guard name.hasPrefix("chaos-") else { return nil }
        let digits = name.dropFirst(6).prefix { $0.isNumber }
        guard let number = Int(digits), name == text(number) else { return nil }
        return number
    }
}

/// A file of the model: where it is and which lines are in it.
final class ChaosFile {
    var name: String
    var inGlob: Bool
    /// Whole lines in the file, in order.
    var lines: [Int] = []
    /// A line whose beginning (`cut` bytes) is written and whose rest is not.
    var partial: (number: Int, cut: Int)?
    var bytes = 0

    init(name: String, inGlob: Bool) {
        self.name = name
        self.inGlob = inGlob
    }
}

/// What the recording server accepted, followed incrementally.
final class ChaosDeliveries {
    let server: FakeLangWatch
    private var consumed = 0
    private(set) var counts: [Int: Int] = [:]
    /// When each line was accepted, and from which launch of the binary (the `chaos.launch` resource attribute).
    private(set) var arrivals: [Int: [(at: ContinuousClock.Instant, launch: Int)]] = [:]
    private(set) var unexpected: [String] = []
    private(set) var lastArrival = ContinuousClock.now

    init(server: FakeLangWatch) {
        self.server = server
    }

    var total: Int { consumed }

    func refresh() {
        let new = server.acceptedSpans(from: consumed)
        consumed += new.count
        for (span, at) in new {
            lastArrival = at
            guard let number = ChaosLine.number(span.name) else {
                unexpected.append(span.name)
                continue
            }
            counts[number, default: 0] += 1
            arrivals[number, default: []].append((at, Int(span.resource["chaos.launch"] ?? "") ?? 0))
        }
    }

    func delivered(_ number: Int) -> Bool { counts[number] != nil }
}

/// Runs one operation sequence against the real `tracetail` binary, keeps the model of what is on disk and what
/// the binary may lose or repeat, and judges the deliveries.
///
/// What the model allows (everything else must arrive exactly once):
/// - **Lost**: lines not delivered when their file was truncated (in place, or by a copy-truncate whose copy is
///   outside the glob), unless the operation first waited for them (`settle`); lines written between a copy and
///   the truncation; lines of a file deleted, or renamed out of the glob, while the binary was stopped or before
///   it noticed (its `rotations_total` did not move within `noticeTimeout`); lines of a deleted file not
///   delivered when the binary was next stopped; undelivered lines outside the glob when a damaged checkpoint
///   made the binary start over. A file renamed out of the glob after the binary noticed must still be read to
///   its end, even across a SIGKILL (the checkpoint keeps the file's last path).
/// - **Repeated**: lines in flight at a SIGKILL (each delivery but the last came from a launch that was killed at
///   most `inFlightWindow` after the server accepted it, and the next one from a later launch), and lines in files
///   inside the glob when the binary started with a damaged checkpoint (`start_at: beginning` reads them again).
public final class FileChaosRun {
    public let ops: [FileChaosOp]
    let settings: FileChaosSettings
    let root: String
    let logs: String
    let data: String
    let config: String
    let server = FakeLangWatch()
    let deliveries: ChaosDeliveries

    var slots: [ChaosFile?] = Array(repeating: nil, count: FileChaosOp.slotNames.count)
    var writers: [Int32?] = Array(repeating: nil, count: FileChaosOp.slotNames.count)
    var others: [ChaosFile] = []
    var nextLine = 0
    var nextRotation = 1
    var origin: [Int: String] = [:]
    var mayLose: [Int: String] = [:]
    var corruptionRepeats = Set<Int>()
    var atRiskOnStop = Set<Int>()
    /// When each launch that did not stop cleanly was SIGKILLed (or died).
    var kills: [Int: ContinuousClock.Instant] = [:]
    var checkpointDamaged = false
    var process: RunningProcess?
    var servicePortNumber: Int?
    var launches = 0
    var problems: [String] = []
    var notes: [String] = []
    let began = ContinuousClock.now
    /// What happened when, for the failure message: operations, launches, kills.
    var timeline: [String] = []

    /// Seconds since the run began, as printed.
    func clock(_ instant: ContinuousClock.Instant = .now) -> String {
        let elapsed = instant - began
        let milliseconds = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
        return "+\(milliseconds / 1000).\(String(format: "%03d", Int(milliseconds % 1000)))"
    }

    public init(ops: [FileChaosOp], settings: FileChaosSettings = .fromEnvironment(), name: String = "chaos") {
        self.ops = ops
        self.settings = settings
        root = temporaryDirectory(name)
        logs = root + "/logs"
        data = root + "/data"
        config = root + "/config.yaml"
        deliveries = ChaosDeliveries(server: server)
        try? FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
    }

    deinit {
        for descriptor in writers.compactMap({ $0 }) { close(descriptor) }
    }

    /// The binary's configuration: the file input on `<logs>/*.log` (pipeline `chaos`) with short polls and
    /// rotate wait, no parser, the OTLP output to the recording server, the service server on a free port.
    public static func configuration(logs: String, data: String, server: FakeLangWatch, input extra: String = "") -> String {
        """
        service: { data_dir: \(data), grace_period: 10s, http: { listen: "127.0.0.1:0" } }
        pipelines:
          chaos:
            input: { type: file, include: ["\(logs)/*.log"], poll_interval: 50ms, rotate_wait: 500ms\(extra) }
            outputs:
              - { type: otlp, endpoint: "\(server.url)/v1/traces", headers: { X-Auth-Token: "\(FakeLangWatch.apiKey)" }, batch_wait: 50ms, initial_backoff: 20ms, max_backoff: 200ms, resource: { chaos.launch: "${TRACETAIL_CHAOS_LAUNCH:-0}" } }
        """
    }

    var checkpointPath: String { data + "/chaos/checkpoints-input.json" }

    /// Runs the sequence to its end and judges it.
    public func run() async throws -> FileChaosVerdict {
        try await server.start()
        defer { server.stop() }
        try Self.configuration(logs: logs, data: data, server: server).write(toFile: config, atomically: true, encoding: .utf8)
        let started = ContinuousClock.now
        await start()
        for (index, op) in ops.enumerated() {
            checkAlive(during: "\(index): \(op)")
            timeline.append("\(clock()) \(op)")
            try await perform(op)
        }
        try await finish()
        return verdict(duration: ContinuousClock.now - started)
    }

    // MARK: Operations

    func perform(_ op: FileChaosOp) async throws {
        switch op {
        case .append(let slot, let lines, let partial):
            append(slot: slot, lines: lines, partial: partial)
        case .renameRotate(let slot, let intoGlob):
            try await renameRotate(slot: slot, intoGlob: intoGlob)
        case .copyTruncate(let slot, let intoGlob, let emptyFirst, let between, let settle):
            try await copyTruncate(slot: slot, intoGlob: intoGlob, emptyFirst: emptyFirst, between: between, settle: settle)
        case .truncate(let slot, let rewrite, let settle):
            try await truncateFile(slot: slot, rewrite: rewrite, settle: settle)
        case .delete(let slot, let recreate, let settle):
            try await delete(slot: slot, recreate: recreate, settle: settle)
        case .sigkill:
            try await stop(SIGKILL)
        case .sigterm:
            try await stop(SIGTERM)
        case .start:
            await start()
        case .corruptCheckpoint(let damage):
            corrupt(damage)
        case .pause(let milliseconds):
            try await Task.sleep(for: .milliseconds(milliseconds))
        }
    }

    var running: Bool { process != nil }

    /// The application's current file of a slot, created (empty) when it has none.
    func current(_ slot: Int) -> ChaosFile {
        if let file = slots[slot] { return file }
        let file = ChaosFile(name: FileChaosOp.slotNames[slot] + ".log", inGlob: true)
        slots[slot] = file
        return file
    }

    func path(_ file: ChaosFile) -> String { logs + "/" + file.name }

    func writer(_ slot: Int) -> Int32 {
        if let descriptor = writers[slot] { return descriptor }
        let descriptor = open(path(current(slot)), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        precondition(descriptor >= 0, "cannot open \(path(current(slot)))")
        writers[slot] = descriptor
        return descriptor
    }

    func closeWriter(_ slot: Int) {
        if let descriptor = writers[slot] { close(descriptor) }
        writers[slot] = nil
    }

    static func writeAll(_ descriptor: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        while !bytes.isEmpty {
            let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            precondition(count > 0, "cannot write")
            bytes.removeFirst(count)
        }
    }

    /// New whole lines (and perhaps the beginning of one more) as the text to write.
    func newLines(_ count: Int, in file: ChaosFile, partial: Bool = false) -> String {
        var text = ""
        for _ in 0..<count {
            let number = nextLine
            nextLine += 1
            origin[number] = file.name
            file.lines.append(number)
            text += ChaosLine.text(number) + "\n"
        }
        if partial {
            let number = nextLine
            nextLine += 1
            origin[number] = file.name
            let line = ChaosLine.text(number)
            let cut = line.utf8.count / 2
            file.partial = (number, cut)
            text += String(line.utf8.prefix(cut))!
        }
        file.bytes += text.utf8.count
        return text
    }

    /// The rest of a partly written line, so that the file holds whole lines before it is rotated or truncated.
    func completePartial(_ slot: Int) {
        guard let file = slots[slot], let (number, cut) = file.partial else { return }
        let rest = String(ChaosLine.text(number).utf8.dropFirst(cut))! + "\n"
        Self.writeAll(writer(slot), rest)
        file.partial = nil
        file.lines.append(number)
        file.bytes += rest.utf8.count
    }

    func append(slot: Int, lines: Int, partial: Bool) {
        completePartial(slot)
        let file = current(slot)
        Self.writeAll(writer(slot), newLines(lines, in: file, partial: partial))
    }

    func undelivered(_ numbers: [Int]) -> [Int] {
        deliveries.refresh()
        return numbers.filter { !deliveries.delivered($0) }
    }

    func allowLoss(_ numbers: [Int], _ reason: String) {
        for number in numbers where mayLose[number] == nil { mayLose[number] = reason }
    }

    /// Waits until the file's lines were delivered (only while the binary runs); false when they were not.
    func settle(_ file: ChaosFile) async throws -> Bool {
        guard running else { return false }
        let delivered = try await waitDelivered(file.lines.filter { mayLose[$0] == nil })
        if !delivered { notes.append("settling \(file.name) gave up: lines were not delivered") }
        return delivered
    }

    func renameRotate(slot: Int, intoGlob: Bool) async throws {
        guard let file = slots[slot] else { return }
        completePartial(slot)
        closeWriter(slot)
        slots[slot] = nil
        let base = FileChaosOp.slotNames[slot]
        let newName = intoGlob ? "\(base).\(nextRotation).log" : "\(base).\(nextRotation).rotated"
        nextRotation += 1
        let before = running ? await rotations() : nil
        precondition(rename(path(file), logs + "/" + newName) == 0, "cannot rename \(file.name)")
        file.name = newName
        file.inGlob = intoGlob
        others.append(file)
        // Waiting for the binary to notice a rename inside the glob too keeps `rotations_total` still for the next
        // operation that watches it.
        if let before, try await noticed(after: before) || intoGlob { return }
        guard !intoGlob else { return }
        allowLoss(undelivered(file.lines), running ? "renamed out of the glob before the binary noticed" : "renamed out of the glob while stopped")
    }

    func copyTruncate(slot: Int, intoGlob: Bool, emptyFirst: Bool, between: Int, settle settleFirst: Bool) async throws {
        guard let file = slots[slot] else { return }
        completePartial(slot)
        if settleFirst { _ = try await settle(file) }
        let base = FileChaosOp.slotNames[slot]
        let copy = ChaosFile(name: intoGlob ? "\(base)-\(nextRotation).copy.log" : "\(base).log.\(nextRotation)", inGlob: intoGlob)
        nextRotation += 1
        let content = Array(FileManager.default.contents(atPath: path(file)) ?? Data())
        let descriptor = open(path(copy), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        precondition(descriptor >= 0, "cannot create \(copy.name)")
        copy.lines = file.lines
        copy.bytes = content.count
        others.append(copy)
        if emptyFirst {
            // The binary sees the copy empty, then short, then whole (a copy made by `cp` while being watched).
            try await Task.sleep(for: .milliseconds(200))
            let half = content.count / 2
            content.withUnsafeBytes { _ = write(descriptor, $0.baseAddress, half) }
            try await Task.sleep(for: .milliseconds(100))
            content.withUnsafeBytes { _ = write(descriptor, $0.baseAddress! + half, content.count - half) }
        } else {
            content.withUnsafeBytes { _ = write(descriptor, $0.baseAddress, content.count) }
        }
        close(descriptor)
        var betweenLines: [Int] = []
        if between > 0 {
            let before = file.lines.count
            Self.writeAll(writer(slot), newLines(between, in: file))
            betweenLines = Array(file.lines[before...])
        }
        if intoGlob {
            allowLoss(undelivered(betweenLines), "written between the copy and the truncation")
        } else {
            allowLoss(undelivered(file.lines), "unread when truncated (the copy is outside the glob)")
        }
        precondition(truncate(path(file), 0) == 0, "cannot truncate \(file.name)")
        file.lines = []
        file.bytes = 0
    }

    func truncateFile(slot: Int, rewrite: Bool, settle settleFirst: Bool) async throws {
        guard let file = slots[slot] else { return }
        completePartial(slot)
        let settled = settleFirst && running
        if settled { _ = try await settle(file) } else { allowLoss(undelivered(file.lines), "unread when truncated") }
        let oldBytes = file.bytes
        precondition(truncate(path(file), 0) == 0, "cannot truncate \(file.name)")
        file.lines = []
        file.bytes = 0
        guard rewrite else { return }
        var text = ""
        repeat { text += newLines(1, in: file) } while file.bytes <= oldBytes || file.lines.count < 2
        Self.writeAll(writer(slot), text)
    }

    func delete(slot: Int, recreate: Int, settle settleFirst: Bool) async throws {
        guard let file = slots[slot] else { return }
        completePartial(slot)
        if settleFirst { _ = try await settle(file) }
        closeWriter(slot)
        slots[slot] = nil
        let before = running ? await rotations() : nil
        precondition(unlink(path(file)) == 0, "cannot delete \(file.name)")
        if recreate > 0 { append(slot: slot, lines: recreate, partial: false) }
        if let before, try await noticed(after: before) {
            // Being read from its open descriptor: what it holds is delivered unless the binary stops first.
            atRiskOnStop.formUnion(undelivered(file.lines))
        } else {
            allowLoss(undelivered(file.lines), running ? "deleted before the binary noticed" : "deleted while stopped")
        }
    }

    func corrupt(_ damage: FileChaosOp.CheckpointDamage) {
        guard !running else { return notes.append("corrupt(\(damage.rawValue)) skipped: the binary runs") }
        try? FileManager.default.createDirectory(atPath: data + "/chaos", withIntermediateDirectories: true)
        let existing = FileManager.default.contents(atPath: checkpointPath) ?? Data()
        let bytes: Data
        switch damage {
        case .garbage: bytes = Data("\u{1}not json at all \u{7f}".utf8)
        case .empty: bytes = Data()
        case .cut: bytes = existing.count > 4 ? existing.prefix(existing.count / 2) : Data("{\"version\":1,\"fi".utf8)
        }
        precondition(FileManager.default.createFile(atPath: checkpointPath, contents: bytes), "cannot write \(checkpointPath)")
        checkpointDamaged = true
    }

    // MARK: The binary

    func start() async {
        guard process == nil else { return }
        if checkpointDamaged {
            // It starts over per start_at (beginning): what is inside the glob comes again, what is outside is gone.
            checkpointDamaged = false
            for file in slots.compactMap({ $0 }) + others {
                if file.inGlob {
                    corruptionRepeats.formUnion(file.lines)
                } else {
                    allowLoss(undelivered(file.lines), "outside the glob when the binary started with a damaged checkpoint")
                }
            }
        }
        launches += 1
        timeline.append("\(clock()) launch \(launches)")
        do {
            let launched = try RunningProcess(["run", "-c", config], environment: ["TRACETAIL_CHAOS_LAUNCH": "\(launches)"])
            process = launched
            servicePortNumber = try await servicePort(launched)
        } catch {
            problems.append("launch \(launches): the binary did not start serving (\(error))")
            if let launched = process {
                launched.signal(SIGKILL)
                _ = try? await finished(launched)
            }
            process = nil
        }
    }

    /// Waits for a stopped process, keeping its standard error next to the sequence's files.
    func finished(_ process: RunningProcess, timeout: Duration = .seconds(30)) async throws -> ProcessResult {
        let result = try await process.wait(timeout: timeout)
        try? result.stderr.write(toFile: root + "/tracetail-\(launches).stderr.log", atomically: true, encoding: .utf8)
        return result
    }

    func stop(_ signal: Int32) async throws {
        guard let process else { return }
        let at = ContinuousClock.now
        timeline.append("\(clock()) \(signal == SIGKILL ? "SIGKILL" : "SIGTERM") launch \(launches)")
        process.signal(signal)
        let result: ProcessResult
        do {
            result = try await finished(process, timeout: signal == SIGTERM ? .seconds(30) : .seconds(10))
        } catch {
            // `wait` killed it.
            result = ProcessResult(status: -1, stdout: "", stderr: process.stderr)
            problems.append("launch \(launches): \(signal == SIGTERM ? "SIGTERM" : "SIGKILL") did not end it within the timeout")
        }
        self.process = nil
        if signal == SIGKILL || result.status != 0 {
            kills[launches] = at // a stop that did not drain: what was in flight may come again
        }
        if signal == SIGTERM && result.status != 0 {
            problems.append("launch \(launches): SIGTERM ended with status \(result.status)")
        }
        stopped()
    }

    /// The binary is gone: lines of deleted files it had not delivered cannot be found any more.
    func stopped() {
        allowLoss(undelivered(Array(atRiskOnStop)), "in a deleted file, undelivered when the binary stopped")
        atRiskOnStop = []
    }

    func checkAlive(during what: String) {
        guard let process, !process.process.isRunning else { return }
        problems.append("launch \(launches): the binary exited by itself (status \(process.process.terminationStatus)) before \(what)")
        kills[launches] = .now
        self.process = nil
        stopped()
    }

    /// The binary's `rotations_total` (renames, rotations away and deletions it noticed), from `/metrics`.
    func rotations() async -> Double? {
        guard let port = servicePortNumber, running else { return nil }
        return await serviceMetric("tracetail_rotations_total", port: port)
    }

    /// Whether the binary noticed a rename or deletion: its `rotations_total` went past `before`.
    func noticed(after before: Double) async throws -> Bool {
        let deadline = ContinuousClock.now + settings.noticeTimeout
        while ContinuousClock.now < deadline {
            if let now = await rotations(), now > before { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Waits until every line of `numbers` was delivered at least once; false when nothing arrived for
    /// `settings.quiet` (or after two minutes) with lines still missing.
    func waitDelivered(_ numbers: [Int]) async throws -> Bool {
        let started = ContinuousClock.now
        var lastTotal = -1
        var lastProgress = started
        var missing = numbers
        while true {
            deliveries.refresh()
            missing = missing.filter { !deliveries.delivered($0) }
            if missing.isEmpty { return true }
            if deliveries.total != lastTotal {
                lastTotal = deliveries.total
                lastProgress = .now
            }
            if ContinuousClock.now - lastProgress > settings.quiet || ContinuousClock.now - started > .seconds(120) || process?.process.isRunning != true {
                return false
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Completes what is partly written, starts the binary if stopped, waits for every line that must come and a
    /// quiet moment (late repeats), stops the binary with SIGTERM.
    func finish() async throws {
        for slot in slots.indices { completePartial(slot) }
        checkAlive(during: "the end")
        await start()
        let expected = (0..<nextLine).filter { mayLose[$0] == nil }
        if try await !waitDelivered(expected) { notes.append("the final wait gave up with lines missing") }
        // A moment with no arrivals, so that late repeats (a copy read again after a while) are counted too.
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline && ContinuousClock.now - deliveries.lastArrival < .milliseconds(1500) {
            try await Task.sleep(for: .milliseconds(50))
            deliveries.refresh()
        }
        checkAlive(during: "the final SIGTERM")
        try await stop(SIGTERM)
        deliveries.refresh()
    }

    // MARK: The oracle

    func verdict(duration: Duration) -> FileChaosVerdict {
        var verdict = FileChaosVerdict(ops: ops, root: root, duration: duration)
        verdict.written = nextLine
        verdict.delivered = deliveries.total
        verdict.problems = problems
        verdict.notes = notes
        verdict.unexpected = deliveries.unexpected
        verdict.timeline = timeline
        for number in 0..<nextLine {
            let count = deliveries.counts[number] ?? 0
            let line = FileChaosVerdict.Line(number: number, file: origin[number] ?? "?", count: count,
                                             arrivals: deliveries.arrivals[number, default: []].map { "\(clock($0.at))@\($0.launch)" })
            if count == 0 {
                if let reason = mayLose[number] {
                    verdict.lostAllowed += 1
                    verdict.allowedLossReasons[reason, default: 0] += 1
                } else {
                    verdict.lost.append(line)
                }
            } else if count > 1 {
                if corruptionRepeats.contains(number) || repeatsWereInFlight(deliveries.arrivals[number]!) {
                    verdict.repeatedAllowed += 1
                } else {
                    verdict.repeated.append(line)
                }
            }
        }
        return verdict
    }

    /// Each delivery after the first came from a later launch, and the delivery before it came from a launch that
    /// was killed no more than `inFlightWindow` after the server accepted it (or before): it was in flight.
    func repeatsWereInFlight(_ arrivals: [(at: ContinuousClock.Instant, launch: Int)]) -> Bool {
        let ordered = arrivals.sorted { $0.at < $1.at }
        return zip(ordered, ordered.dropFirst()).allSatisfy { previous, next in
            guard previous.launch < next.launch, let killed = kills[previous.launch] else { return false }
            return previous.at >= killed - settings.inFlightWindow
        }
    }
}

/// The judgement of one sequence.
public struct FileChaosVerdict: Sendable, CustomStringConvertible {
    public struct Line: Sendable {
        public var number: Int
        /// The file name it was written to.
        public var file: String
        public var count: Int
        /// When the server accepted it and from which launch, as `+seconds@launch` (seconds since the run began).
        public var arrivals: [String]
    }

    public var ops: [FileChaosOp]
    /// The sequence's folder: logs, data (checkpoints) and each launch's standard error.
    public var root: String
    public var duration: Duration
    public var written = 0
    public var delivered = 0
    /// Lines that never came though nothing allowed their loss.
    public var lost: [Line] = []
    public var lostAllowed = 0
    public var allowedLossReasons: [String: Int] = [:]
    /// Lines that came more than once though they were not in flight at a SIGKILL.
    public var repeated: [Line] = []
    public var repeatedAllowed = 0
    public var unexpected: [String] = []
    /// The binary misbehaved otherwise: exit status after SIGTERM, exited by itself, did not start.
    public var problems: [String] = []
    public var notes: [String] = []
    public var timeline: [String] = []

    public var passed: Bool { lost.isEmpty && repeated.isEmpty && unexpected.isEmpty && problems.isEmpty }

    /// The failure's kind, to tell whether a shrunk sequence still fails the same way.
    public var failureKinds: Set<String> {
        var kinds = Set<String>()
        if !lost.isEmpty { kinds.insert("lost") }
        if !repeated.isEmpty { kinds.insert("repeated") }
        if !unexpected.isEmpty { kinds.insert("unexpected") }
        if !problems.isEmpty { kinds.insert("problem") }
        return kinds
    }

    public var counts: String {
        "written \(written), delivered \(delivered) spans, lost \(lost.count) unexpected + \(lostAllowed) allowed, "
            + "duplicated \(repeated.count) unallowed + \(repeatedAllowed) allowed, unexpected spans \(unexpected.count)"
    }

    public var description: String {
        func sample(_ lines: [Line]) -> String {
            let byFile = Dictionary(grouping: lines, by: \.file).map { "\($0.key): \($0.value.count)" }.sorted().joined(separator: ", ")
            return "[\(byFile)] e.g. " + lines.prefix(6).map { line in
                "#\(line.number)" + (line.arrivals.isEmpty ? "" : " at " + line.arrivals.joined(separator: " "))
            }.joined(separator: ", ")
        }
        var text = counts + " (\(duration.components.seconds) s)"
        if !lost.isEmpty { text += "\n  lost: " + sample(lost) }
        if !repeated.isEmpty { text += "\n  duplicated: " + sample(repeated) }
        if !unexpected.isEmpty { text += "\n  unexpected: \(unexpected.prefix(3))" }
        for problem in problems { text += "\n  problem: " + problem }
        if !allowedLossReasons.isEmpty {
            text += "\n  allowed losses: " + allowedLossReasons.map { "\($0.value) \($0.key)" }.sorted().joined(separator: "; ")
        }
        for note in notes { text += "\n  note: " + note }
        if !passed { text += "\n  timeline: " + timeline.joined(separator: ", ") }
        text += "\n  files: \(root)"
        return text
    }
}
