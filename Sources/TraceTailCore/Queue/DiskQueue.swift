#if canImport(Glibc)
import Glibc
#endif
import CZlib
import DequeModule
import Synchronization

/// A durable FIFO of byte entries: append-only segment files, each entry with a sequence number, its append time
/// and a CRC-32. Entries are handed out in order, in leases of many at once (read in large sequential chunks),
/// and leases are acknowledged in any order; a restart hands out again every entry not acknowledged. How far the
/// queue is done is the commit of an `OrderedCommitLog` over sequence numbers. A segment is deleted as soon as
/// every entry in it is acknowledged (also at start-up); a torn or corrupt entry (a crash mid-write, a damaged
/// disk) is skipped and counted, never fatal.
///
/// Files in `directory`: `<first sequence>.seg` segments, `acknowledged` (a journal: one line per commit, the
/// highest number wins — every sequence up to it is done; compacted by rewriting now and then and at every open;
/// never fsynced but at `close`, so a crash leaves an older number — at worst entries are handed out twice, never
/// lost) and `queue.id` (a random identity, so that ids derived from sequence numbers differ between a queue and
/// one created after it was deleted).
///
/// Writes that fail (a full disk) are reported through `DataWrites`: `append` throws, `appendWaiting` retries
/// with backoff, and the acknowledged position is written again at the next commit.
///
/// Three locks, none held by two parties' file I/O: appends write under `writer`; the one reader reads under
/// `reading`; `state` (segments, commit log, counts, waiters) is only held for bookkeeping.
public final class DiskQueue: Sendable {
    /// When appended entries are forced to disk.
    public enum Fsync: String, ConfigChoice {
        /// Before `append` returns: an acknowledged entry survives a power loss.
        case always
        /// When the operating system writes back: an entry survives a crash of TraceTail, not of the machine.
        case never
    }

    public struct Settings: Sendable {
        /// Unacknowledged bytes the queue holds at most; `append` throws `Full` beyond.
        public var maxBytes: Int
        public var fsync: Fsync
        /// A new segment starts once the current one is this large (bytes).
        public var segmentBytes: Int

        public init(maxBytes: Int, fsync: Fsync = .always, segmentBytes: Int? = nil) {
            self.maxBytes = maxBytes
            self.fsync = fsync
            self.segmentBytes = segmentBytes ?? min(max(maxBytes / 16, 1 << 20), 64 << 20)
        }
    }

    /// The queue holds `maxBytes` of unacknowledged entries already.
    public struct Full: Error, Sendable, CustomStringConvertible {
        public var description: String { "the disk queue is full" }
    }

    /// One entry handed out.
    public struct Entry: Sendable {
        public var sequence: UInt64
        public var payload: [UInt8]
    }

    /// Entries handed out together and acknowledged together: one piece of the queue's commit log.
    public struct Lease: Sendable {
        /// The entries' payloads back to back: one allocation per lease, not one per entry.
        let payloads: [UInt8]
        /// Each entry's sequence and where its payload is in `payloads`.
        let slots: [(sequence: UInt64, payload: Range<Int>)]
        public var entries: [Entry] { slots.map { Entry(sequence: $0.sequence, payload: Array(payloads[$0.payload])) } }
        let ticket: OrderedCommitLog<UInt64>.Ticket
        /// The sequences it covers (skipped corrupt entries between them included).
        let sequences: ClosedRange<UInt64>
        /// Entries and bytes (headers included) it takes off the backlog once acknowledged.
        let backlogEntries: Int
        let backlogBytes: Int
    }

    /// What recovery found on open.
    public struct Recovery: Sendable {
        /// Entries handed out again (appended, never acknowledged).
        public var replayed = 0
        /// Torn or corrupt entries skipped.
        public var corrupt = 0
    }

    static let headerBytes = 24
    /// Bytes read from a segment at once.
    static let readChunk = 1 << 20
    /// The position journal is rewritten as one line once it is this long (bytes).
    static let journalCompactBytes = 64 << 10
    /// The segment being written is deleted (the next append starts another) once every entry in it is
    /// acknowledged and it is at least this long (bytes): a drained queue frees its disk space.
    static let retireBytes = 64 << 10

    private struct Segment {
        /// Its first sequence (its name).
        var first: UInt64
        /// The sequence after its last entry.
        var end: UInt64
        var path: String
        /// Bytes of complete entries: the reader reads no further.
        var length: Int
        /// Where its first unacknowledged entry starts.
        var readFrom = 0
        /// Found on open: its corrupt entries were counted then.
        var recovered = false
        /// Found intact on open: every entry before `length` passed its checksum then, so the reader does not
        /// compute it again (computed twice, checksums took 18 % of a drain after a restart).
        var verified = false
    }

    private struct State {
        var segments: Deque<Segment> = []
        /// The segment appends go to (its first sequence), if one is open.
        var writing: UInt64?
        var log: OrderedCommitLog<UInt64>
        /// The last sequence written.
        var written: UInt64
        /// The reader has handed out (or skipped) every entry up to this sequence.
        var readThrough: UInt64
        /// Leases handed out and not committed, with their first entry's append time (for the oldest-age gauge).
        var inFlight: Deque<(last: UInt64, appendedAt: UInt64)> = []
        /// The append time of the first entry not handed out yet, if known.
        var unreadAppendedAt: UInt64?
        /// Unacknowledged entries and bytes.
        var entries = 0
        var bytes = 0
        var reader: CheckedContinuation<Void, Never>?
        var deliveryWaiters: [UInt64: CheckedContinuation<Bool, Never>] = [:]
        var closed = false
    }

    private struct Writer {
        /// -1 until the next append starts a segment.
        var descriptor: Int32 = -1
        var offset = 0
        var nextSequence: UInt64
    }

    /// The reader's place: the segment being read and a buffered window of it.
    private struct Cursor: ~Copyable {
        /// The segment being read (its first sequence; 0 before the first).
        var segment: UInt64 = 0
        var offset = 0
        var file = SegmentFile()
    }

    /// The acknowledged-position journal.
    private struct Journal {
        var descriptor: Int32 = -1
        var length = 0
        var persisted: UInt64
    }

    public let directory: String
    public let settings: Settings
    /// This queue's random identity (see the type's comment).
    public let identity: String
    public let recovery: Recovery
    let metrics: QueueMetrics
    let writes: DataWrites
    private let state: Mutex<State>
    private let writer: Mutex<Writer>
    private let reading = Mutex(Cursor())
    private let journal: Mutex<Journal>
    /// The highest sequence known to be on disk; fsyncs take this lock so that one serves every writer waiting.
    private let synced = Mutex<UInt64>(0)

    /// Opens (or creates) the queue in `directory`, deletes its fully acknowledged segments and counts every
    /// unacknowledged entry (one sequential read of each segment).
    public init(directory: String, settings: Settings, metrics: MetricsScope, writes: DataWrites) throws(SystemError) {
        self.directory = directory
        self.settings = settings
        self.metrics = QueueMetrics(metrics)
        self.writes = writes
        try FileSystem.createDirectory(directory)
        identity = try Self.identity(in: directory)
        let committed = Self.readJournal(directory + "/acknowledged")
        var state = State(log: OrderedCommitLog(committed: committed), written: committed, readThrough: committed)
        var recovery = Recovery()
        for (first, path) in try Self.segmentFiles(in: directory) {
            var segment = Segment(first: first, end: first, path: path, length: 0, recovered: true)
            var file = try SegmentFile(path: path)
            defer { file.close() }
            var firstUnacknowledged: Int?
            let corruptBefore = recovery.corrupt
            scan: while true {
                switch file.entry(at: segment.length, limit: file.size) {
                case .end:
                    break scan
                case .torn:
                    // A crash mid-write, or a header too damaged to find the next entry: the rest is lost.
                    recovery.corrupt += 1
                    break scan
                case .corrupt(let length):
                    recovery.corrupt += 1
                    segment.length += Self.headerBytes + length
                case .entry(let sequence, let length, let appendedAt):
                    state.written = max(state.written, sequence)
                    segment.end = max(segment.end, sequence + 1)
                    if sequence > committed {
                        firstUnacknowledged = firstUnacknowledged ?? segment.length
                        state.unreadAppendedAt = state.unreadAppendedAt ?? appendedAt
                        state.entries += 1
                        state.bytes += Self.headerBytes + length
                    }
                    segment.length += Self.headerBytes + length
                }
            }
            segment.readFrom = firstUnacknowledged ?? segment.length
            segment.verified = recovery.corrupt == corruptBefore
            if firstUnacknowledged == nil {
                unlink(path) // every entry in it is acknowledged (appends go to a new segment)
            } else {
                state.segments.append(segment)
            }
        }
        recovery.replayed = state.entries
        self.recovery = recovery
        writer = Mutex(Writer(nextSequence: state.written + 1))
        journal = Mutex(Journal(persisted: committed))
        self.state = Mutex(state)
        self.metrics.corrupt.increment(by: recovery.corrupt)
        // Rewritten at once, so that a torn last line is never appended to (failing, the first commit tries again).
        journal.withLock { journal in try? compact(&journal, committed) }
        updateGauges()
        Self.openQueues.withLock { $0.append(Weak(self)) }
    }

    deinit {
        writer.withLock { if $0.descriptor >= 0 { Glibc.close($0.descriptor) } }
        journal.withLock { if $0.descriptor >= 0 { Glibc.close($0.descriptor) } }
        reading.withLock { $0.file.close() }
    }

    // MARK: - Appending

    /// Appends one entry; returns its sequence number once it is written (and, with `fsync: always`, synced).
    /// Throws `Full` when the queue holds `maxBytes` already, and the `SystemError` of a write that failed (a full
    /// disk; reported through `DataWrites`, nothing half-written is left behind).
    @discardableResult
    public func append(_ payload: [UInt8]) async throws -> UInt64 {
        let size = Self.headerBytes + payload.count
        try state.withLock { state throws in
            guard !state.closed else { throw CancellationError() }
            guard state.bytes + size <= settings.maxBytes || state.bytes == 0 && size <= settings.maxBytes else { throw Full() }
            state.bytes += size // reserved; given back if the write fails
        }
        let sequence: UInt64
        do {
            sequence = try writes.attempt(.queue, needed: size) { () throws(SystemError) -> UInt64 in
                try writer.withLock { writer throws(SystemError) -> UInt64 in try write(payload, &writer) }
            }
        } catch {
            state.withLock { $0.bytes -= size }
            throw error
        }
        if settings.fsync == .always { try await sync(through: sequence) }
        wakeReader()
        updateGauges()
        return sequence
    }

    /// Writes one entry at the end of the current segment (starting one first when needed).
    private func write(_ payload: [UInt8], _ writer: inout Writer) throws(SystemError) -> UInt64 {
        if writer.descriptor < 0 || writer.offset >= settings.segmentBytes { try startSegment(&writer) }
        let sequence = writer.nextSequence
        let now = Clock.nowNanoseconds
        var entry = [UInt8](repeating: 0, count: Self.headerBytes)
        entry.reserveCapacity(Self.headerBytes + payload.count)
        Self.store(UInt32(payload.count), in: &entry, at: 0)
        Self.store(sequence, in: &entry, at: 8)
        Self.store(now, in: &entry, at: 16)
        entry.append(contentsOf: payload)
        Self.store(entry.withUnsafeBytes(Self.checksum), in: &entry, at: 4)
        let path = state.withLock { $0.segments[$0.segments.count - 1].path }
        do {
            try FileSystem.writeAll(entry, to: writer.descriptor, path: path)
        } catch {
            ftruncate(writer.descriptor, off_t(writer.offset)) // no torn entry before the next one
            throw error
        }
        writer.offset += entry.count
        writer.nextSequence += 1
        state.withLock { [offset = writer.offset] state in
            state.segments[state.segments.count - 1].end = sequence + 1
            state.segments[state.segments.count - 1].length = offset
            state.written = sequence
            state.entries += 1
            state.unreadAppendedAt = state.unreadAppendedAt ?? now
        }
        return sequence
    }

    private func startSegment(_ writer: inout Writer) throws(SystemError) {
        if writer.descriptor >= 0 {
            if settings.fsync == .always { fsync(writer.descriptor) }
            Glibc.close(writer.descriptor)
            writer.descriptor = -1
        }
        let first = writer.nextSequence
        let name = String(first)
        let path = directory + "/" + String(repeating: "0", count: max(0, 20 - name.count)) + name + ".seg"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw SystemError("cannot create", path: path) }
        writer.descriptor = descriptor
        writer.offset = 0
        state.withLock { state in
            state.segments.append(Segment(first: first, end: first, path: path, length: 0))
            state.writing = first
        }
        Self.syncDirectory(directory)
    }

    /// Forces every entry up to `sequence` to disk; one fsync serves every writer waiting for it.
    private func sync(through sequence: UInt64) async throws {
        try await BlockingIO.run { [self] in
            try synced.withLock { (syncedThrough: inout UInt64) throws in
                guard syncedThrough < sequence else { return }
                let (descriptor, written) = writer.withLock { writer in (dup(writer.descriptor), writer.nextSequence - 1) }
                guard descriptor >= 0 else { return } // retired: every entry in it was acknowledged
                defer { Glibc.close(descriptor) }
                try writes.attempt(.queue, needed: 0) { () throws(SystemError) in
                    guard fsync(descriptor) == 0 else { throw SystemError("cannot fsync", path: directory) }
                }
                syncedThrough = written
            }
        }
    }

    // MARK: - Reading

    /// The next entries in sequence order — at most `maxEntries`, and no more once `maxBytes` of payload are
    /// gathered — as one lease, waiting for one (unless `waiting` is false); nil once the queue is stopped or the
    /// task cancelled.
    public func take(maxEntries: Int = 1, maxBytes: Int = .max, waiting: Bool = true) async -> Lease? {
        while !Task.isCancelled {
            if let lease = reading.withLock({ read(&$0, maxEntries: maxEntries, maxBytes: maxBytes) }) { return lease }
            if !waiting || state.withLock({ $0.closed }) { return nil }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { state -> Bool in
                        if state.closed || Task.isCancelled || state.written > state.readThrough { return true }
                        state.reader = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                wakeReader()
            }
        }
        return nil
    }

    /// Reads entries from the cursor on into a lease (nil when there are none), moving through segments.
    private func read(_ cursor: inout Cursor, maxEntries: Int, maxBytes: Int) -> Lease? {
        var payloads: [UInt8] = []
        var slots: [(sequence: UInt64, payload: Range<Int>)] = []
        var backlogEntries = 0, backlogBytes = 0
        var firstAppendedAt: UInt64 = 0
        var nextAppendedAt: UInt64?
        /// Every entry up to this sequence was read, when the reader reached the end of what is written.
        var exhausted: UInt64?
        /// The cursor's segment as last looked up: looked up again once read to the length it had then.
        var current: Segment?
        while slots.count < maxEntries && payloads.count < maxBytes {
            if current == nil || cursor.offset >= current!.length {
                let (found, following, written) = state.withLock { state in
                    (state.segments.first { $0.first == cursor.segment }, state.segments.first { $0.first > cursor.segment },
                     state.written)
                }
                current = found
                guard let found, cursor.offset < found.length else {
                    // This segment is read to its end (or deleted): on to the next one, if there is one yet.
                    current = nil
                    if found == nil { cursor.file.close() } // deleted: its space goes only once no one holds it open
                    guard let following else {
                        exhausted = written
                        break
                    }
                    cursor.file.close()
                    guard let file = try? SegmentFile(path: following.path) else {
                        // Deleted by hand underneath us: what it held is gone; count it and go on.
                        metrics.corrupt.increment()
                        cursor.segment = following.first
                        cursor.offset = following.length
                        continue
                    }
                    cursor.file = file
                    cursor.segment = following.first
                    cursor.offset = following.readFrom
                    continue
                }
            }
            let segment = current!
            switch cursor.file.entry(at: cursor.offset, limit: segment.length, verify: !segment.verified) {
            case .end, .torn:
                // Shorter than written (truncated by hand): the rest of the segment is lost.
                if !segment.recovered { metrics.corrupt.increment() }
                cursor.offset = segment.length
            case .corrupt(let length):
                cursor.offset += Self.headerBytes + length
                if !segment.recovered {
                    metrics.corrupt.increment()
                    backlogEntries += 1
                    backlogBytes += Self.headerBytes + length
                }
            case .entry(let sequence, let length, let appendedAt):
                if slots.isEmpty { firstAppendedAt = appendedAt }
                let start = payloads.count
                cursor.file.copy(at: cursor.offset + Self.headerBytes, count: length, to: &payloads)
                slots.append((sequence, start..<payloads.count))
                backlogEntries += 1
                backlogBytes += Self.headerBytes + length
                cursor.offset += Self.headerBytes + length
                nextAppendedAt = cursor.file.appendedAt(at: cursor.offset, limit: segment.length)
            }
        }
        return state.withLock { state -> Lease? in
            if let exhausted {
                state.readThrough = max(state.readThrough, exhausted)
                if state.written == exhausted { state.unreadAppendedAt = nil } // else: appended meanwhile
            } else {
                state.unreadAppendedAt = nextAppendedAt ?? state.unreadAppendedAt
            }
            guard let first = slots.first?.sequence, let last = slots.last?.sequence else {
                state.entries -= backlogEntries // only corrupt entries: nothing to hand out
                state.bytes -= backlogBytes
                return nil
            }
            state.readThrough = max(state.readThrough, last)
            state.inFlight.append((last, firstAppendedAt))
            return Lease(payloads: payloads, slots: slots, ticket: state.log.register(end: last), sequences: first...last,
                         backlogEntries: backlogEntries, backlogBytes: backlogBytes)
        }
    }

    // MARK: - Acknowledging

    /// Marks a lease's entries as done; leases before it may still be out. Deletes every segment the commit
    /// passed and records the new position.
    public func acknowledge(_ lease: Lease) {
        let (committed, done, waiters) = state.withLock { state -> (UInt64?, [Segment], [CheckedContinuation<Bool, Never>]) in
            state.entries -= lease.backlogEntries
            state.bytes -= lease.backlogBytes
            var waiters: [CheckedContinuation<Bool, Never>] = []
            if !state.deliveryWaiters.isEmpty {
                for sequence in state.deliveryWaiters.keys where lease.sequences.contains(sequence) {
                    waiters.append(state.deliveryWaiters.removeValue(forKey: sequence)!)
                }
            }
            guard state.log.acknowledge(lease.ticket) else { return (nil, [], waiters) }
            let committed = state.log.committed
            while let first = state.inFlight.first, first.last <= committed { state.inFlight.removeFirst() }
            var done: [Segment] = []
            // The segment being written stays (see `retireWritten`).
            while let first = state.segments.first, first.end <= committed + 1, first.first != state.writing {
                done.append(state.segments.removeFirst())
            }
            return (committed, done, waiters)
        }
        for segment in done { unlink(segment.path) }
        if let committed {
            if retireWritten(committed, minimumBytes: Self.retireBytes) || !done.isEmpty {
                wakeReader() // to close the deleted segment it may still hold open
            }
            persist(committed)
        }
        for waiter in waiters { waiter.resume(returning: true) }
        updateGauges()
    }

    /// Deletes the segment being written once everything in it is acknowledged and it is `minimumBytes` long;
    /// the next append starts a new one. Returns whether it did.
    @discardableResult
    private func retireWritten(_ committed: UInt64, minimumBytes: Int) -> Bool {
        guard state.withLock({ $0.written == committed && ($0.segments.last?.length ?? 0) >= minimumBytes }) else { return false }
        let retired = writer.withLock { writer -> Segment? in
            state.withLock { state -> Segment? in
                guard writer.descriptor >= 0, state.written == committed, state.log.committed == committed,
                      state.segments.count == 1, state.segments[0].length >= minimumBytes else { return nil }
                Glibc.close(writer.descriptor)
                writer.descriptor = -1
                state.writing = nil
                return state.segments.removeFirst()
            }
        }
        guard let retired else { return false }
        unlink(retired.path)
        return true
    }

    /// Waits until `sequence` is acknowledged; false when the task was cancelled first.
    public func acknowledged(_ sequence: UInt64) async -> Bool {
        let id = sequence
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let done = state.withLock { state -> Bool? in
                    if Task.isCancelled || state.closed { return false }
                    if state.log.isAcknowledged(sequence) { return true }
                    state.deliveryWaiters[id] = continuation
                    return nil
                }
                if let done { continuation.resume(returning: done) }
            }
        } onCancel: {
            state.withLock { $0.deliveryWaiters.removeValue(forKey: id) }?.resume(returning: false)
        }
    }

    /// Unacknowledged entries and their bytes, and when the oldest was appended.
    public var backlog: (entries: Int, bytes: Int, oldest: UInt64?) {
        state.withLock { state in (state.entries, state.bytes, state.inFlight.first?.appendedAt ?? state.unreadAppendedAt) }
    }

    /// Stops handing out entries and wakes every waiter; what is unacknowledged stays on disk for the next start.
    public func stop() {
        let (reader, waiters) = state.withLock { state in
            state.closed = true
            defer {
                state.reader = nil
                state.deliveryWaiters = [:]
            }
            return (state.reader, Array(state.deliveryWaiters.values))
        }
        reader?.resume()
        for waiter in waiters { waiter.resume(returning: false) }
    }

    /// The final sync, once every acknowledgement that will come has come: deletes the last segment if every
    /// entry is acknowledged, records the position and forces it and the last segment to disk. Throws when they
    /// cannot be written.
    public func close() async throws {
        stop()
        try await BlockingIO.run { [self] in
            let committed = state.withLock { $0.log.committed }
            retireWritten(committed, minimumBytes: 0)
            try journal.withLock { journal throws(SystemError) in
                if committed > journal.persisted || journal.descriptor < 0 { try compact(&journal, committed) }
                guard fsync(journal.descriptor) == 0 else { throw SystemError("cannot fsync", path: directory + "/acknowledged") }
            }
            try writer.withLock { writer throws(SystemError) in
                guard writer.descriptor >= 0 else { return }
                guard fsync(writer.descriptor) == 0 else { throw SystemError("cannot fsync", path: directory) }
            }
        }
    }

    // MARK: - The position journal

    /// Appends the new position (one short write); the journal is rewritten as one line once it grew long.
    private func persist(_ committed: UInt64) {
        journal.withLock { journal in
            guard committed > journal.persisted else { return }
            guard journal.descriptor >= 0, journal.length < Self.journalCompactBytes else {
                try? compact(&journal, committed) // reported; the next commit tries again
                return
            }
            let line = Array("\(committed)\n".utf8)
            let path = directory + "/acknowledged"
            do {
                try writes.attempt(.queuePosition, needed: line.count) { () throws(SystemError) in
                    try FileSystem.writeAll(line, to: journal.descriptor, path: path)
                }
                journal.length += line.count
                journal.persisted = committed
            } catch {
                // Cut a torn line off; if that fails too, the next commit rewrites the file.
                if ftruncate(journal.descriptor, off_t(journal.length)) != 0 {
                    Glibc.close(journal.descriptor)
                    journal.descriptor = -1
                }
            }
        }
    }

    /// Rewrites the journal as the one line `committed` (atomically) and opens it for appending.
    private func compact(_ journal: inout Journal, _ committed: UInt64) throws(SystemError) {
        let path = directory + "/acknowledged"
        let line = Array("\(committed)\n".utf8)
        if journal.descriptor >= 0 {
            Glibc.close(journal.descriptor)
            journal.descriptor = -1
        }
        try AtomicFile.write(line, to: path, reporting: writes, as: .queuePosition)
        journal.descriptor = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard journal.descriptor >= 0 else { throw SystemError("cannot open", path: path) }
        journal.length = line.count
        journal.persisted = committed
    }

    /// The highest complete line of a journal (0 when there is none).
    private static func readJournal(_ path: String) -> UInt64 {
        guard let bytes = try? FileSystem.read(path) else { return 0 }
        var highest: UInt64 = 0
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).dropLast(bytes.last == UInt8(ascii: "\n") ? 0 : 1) {
            if let number = UInt64(String(decoding: line, as: UTF8.self)) { highest = max(highest, number) }
        }
        return highest
    }

    // MARK: - Gauges

    private func wakeReader() {
        state.withLock { state in
            defer { state.reader = nil }
            return state.reader
        }?.resume()
    }

    /// Every open queue, weakly: `/metrics` refreshes their gauges when scraped (the oldest entry ages while
    /// nothing happens).
    private final class Weak: @unchecked Sendable {
        // @unchecked: `queue` is only read or replaced under `openQueues`' lock.
        weak var queue: DiskQueue?
        init(_ queue: DiskQueue) { self.queue = queue }
    }

    private static let openQueues = Mutex<[Weak]>([])

    /// Brings every open queue's gauges (entries, bytes, oldest entry's age) up to date.
    public static func refreshGauges() {
        let queues = openQueues.withLock { list in
            list.removeAll { $0.queue == nil }
            return list.compactMap(\.queue)
        }
        for queue in queues { queue.updateGauges() }
    }

    private func updateGauges() {
        let (entries, bytes, oldest) = backlog
        metrics.entries.set(entries)
        metrics.bytes.set(bytes)
        let now = Clock.nowNanoseconds
        metrics.oldestAge.set(oldest.map { now > $0 ? Int((now - $0) / 1_000_000_000) : 0 } ?? 0)
    }

    // MARK: - Files

    private static func identity(in directory: String) throws(SystemError) -> String {
        let path = directory + "/queue.id"
        if case .found(let bytes) = AtomicFile.read(path), bytes.count >= 16 {
            return String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
        }
        let identity = TraceID(high: UInt64.random(in: 1...UInt64.max), low: UInt64.random(in: 1...UInt64.max)).description
        try AtomicFile.write(Array(identity.utf8), to: path)
        return identity
    }

    private static func segmentFiles(in directory: String) throws(SystemError) -> [(UInt64, String)] {
        guard let handle = opendir(directory) else { throw SystemError("cannot list", path: directory) }
        defer { closedir(handle) }
        var found: [(UInt64, String)] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasSuffix(".seg"), let first = UInt64(name.dropLast(4)) else { continue }
            found.append((first, directory + "/" + name))
        }
        return found.sorted { $0.0 < $1.0 }
    }

    private static func syncDirectory(_ directory: String) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if descriptor >= 0 {
            fsync(descriptor)
            Glibc.close(descriptor)
        }
    }

    // MARK: - Entry format: length u32, crc32 u32 (of everything else, this field as zeros), sequence u64,
    // appended-at u64, payload

    /// The CRC-32 of an entry with its checksum field taken as zeros.
    static func checksum(_ entry: UnsafeRawBufferPointer) -> UInt32 {
        let base = entry.baseAddress!.assumingMemoryBound(to: Bytef.self)
        let zeros: [Bytef] = [0, 0, 0, 0]
        var crc = crc32(0, base, 4)
        crc = crc32(crc, zeros, 4)
        crc = crc32(crc, base + 8, uInt(entry.count - 8))
        return UInt32(crc)
    }

    static func store<T: FixedWidthInteger>(_ value: T, in bytes: inout [UInt8], at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { source in
            for (index, byte) in source.enumerated() { bytes[offset + index] = byte }
        }
    }
}

/// One segment file read in large sequential chunks: a window of it is kept in memory, and entries are parsed
/// from the window (a read only when an entry runs past it).
struct SegmentFile: ~Copyable {
    enum Found {
        /// No entry starts at the offset (it is the limit).
        case end
        /// The header or the payload runs past the limit.
        case torn
        /// An entry whose checksum fails; the length says where the next one starts.
        case corrupt(length: Int)
        case entry(sequence: UInt64, length: Int, appendedAt: UInt64)
    }

    private var descriptor: Int32 = -1
    /// The window: `buffer[0..<count]` holds the file's bytes from `start`.
    private var buffer: [UInt8] = []
    private var start = 0
    private var count = 0
    /// The file's size when opened.
    private(set) var size = 0

    init() {}

    init(path: String) throws(SystemError) {
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SystemError("cannot open", path: path) }
        var status = stat()
        if fstat(descriptor, &status) == 0 { size = Int(status.st_size) }
    }

    mutating func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
        buffer = []
        start = 0
        count = 0
    }

    /// The entry at `offset`, reading no further than `limit`; its checksum is not checked unless `verify`.
    mutating func entry(at offset: Int, limit: Int, verify: Bool = true) -> Found {
        if offset >= limit { return .end }
        guard offset + DiskQueue.headerBytes <= limit, load(offset: offset, count: DiskQueue.headerBytes) else { return .torn }
        let length = Int(integer(UInt32.self, at: offset))
        let total = DiskQueue.headerBytes + length
        guard offset + total <= limit, load(offset: offset, count: total) else { return .torn }
        let valid = !verify || buffer.withUnsafeBytes { window in
            DiskQueue.checksum(UnsafeRawBufferPointer(rebasing: window[offset - start..<offset - start + total]))
        } == integer(UInt32.self, at: offset + 4)
        guard valid else { return .corrupt(length: length) }
        return .entry(sequence: integer(UInt64.self, at: offset + 8), length: length, appendedAt: integer(UInt64.self, at: offset + 16))
    }

    /// The append time in the header at `offset`, if that header is in the window already.
    func appendedAt(at offset: Int, limit: Int) -> UInt64? {
        guard offset + DiskQueue.headerBytes <= min(limit, start + count), offset >= start else { return nil }
        return integer(UInt64.self, at: offset + 16)
    }

    /// Appends bytes of the window (loaded by `entry`) to `target`.
    func copy(at offset: Int, count: Int, to target: inout [UInt8]) {
        buffer.withUnsafeBufferPointer { window in
            target.append(contentsOf: UnsafeBufferPointer(rebasing: window[offset - start..<offset - start + count]))
        }
    }

    private func integer<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        buffer.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset - start, as: T.self)) }
    }

    /// Makes the window hold `count` bytes from `offset`, reading a chunk (or more, for a large entry); false
    /// when the file ends first.
    private mutating func load(offset: Int, count needed: Int) -> Bool {
        if offset >= start && offset + needed <= start + count { return true }
        let kept = offset >= start && offset < start + count ? start + count - offset : 0
        let capacity = max(DiskQueue.readChunk, needed)
        if buffer.count < capacity { buffer.append(contentsOf: repeatElement(0, count: capacity - buffer.count)) }
        if kept > 0 {
            buffer.withUnsafeMutableBytes { window in
                let from = offset - start
                window.baseAddress!.copyMemory(from: window.baseAddress! + from, byteCount: kept)
            }
        }
        start = offset
        count = kept
        while count < needed {
            let read = buffer.withUnsafeMutableBytes { window in
                pread(descriptor, window.baseAddress! + count, window.count - count, off_t(start + count))
            }
            if read < 0 && errno == EINTR { continue }
            guard read > 0 else { return false }
            count += read
        }
        return true
    }
}

/// A disk queue's gauges and counters.
struct QueueMetrics: Sendable {
    let entries: MetricGauge
    let bytes: MetricGauge
    let oldestAge: MetricGauge
    let corrupt: MetricCounter

    init(_ scope: MetricsScope) {
        entries = scope.gauge("queue_entries")
        bytes = scope.gauge("queue_bytes")
        oldestAge = scope.gauge("queue_oldest_entry_age_seconds")
        corrupt = scope.counter("queue_corrupt_entries_total")
    }
}

extension DiskQueue {
    /// Stores a batch; returns its sequence once it is durable (per `fsync`). Throws `Full` when there is no room,
    /// and the `SystemError` of a write that failed.
    @discardableResult
    public func append(_ batch: RecordBatch) async throws -> UInt64 {
        try await append(RecordCodec.encode(batch))
    }

    /// Stores a batch, waiting while the queue is full and retrying with backoff while the disk cannot take it
    /// (backpressure for producers that can wait); throws only when cancelled.
    public func appendWaiting(_ batch: RecordBatch) async throws {
        let payload = RecordCodec.encode(batch)
        try await writes.retrying(.queue, needed: Self.headerBytes + payload.count) {
            while true {
                do {
                    try await append(payload)
                    return
                } catch is Full {
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
        }
    }

    /// The next stored batches gathered into one (up to `maxEntries` entries and `maxBytes` of them), with the
    /// lease that acknowledges them; nil once stopped or cancelled (or, not `waiting`, when none is there). An
    /// entry that no longer decodes is counted as corrupt; a lease of nothing but those is acknowledged at once.
    /// - Parameter stamp: gives each record its queue entry as identity (`<queue id>/<sequence>`), so that ids
    ///   derived from it stay the same when the entry is replayed.
    public func nextBatch(maxEntries: Int = 1, maxBytes: Int = .max, waiting: Bool = true,
                          stamp: Bool = false) async -> (batch: RecordBatch, lease: Lease)? {
        while let lease = await take(maxEntries: maxEntries, maxBytes: maxBytes, waiting: waiting) {
            var batch = RecordBatch(ack: AckToken(lease.sequences.lowerBound))
            batch.records.reserveCapacity(lease.slots.count) // at least one record an entry, usually one
            batch.storage.reserveCapacity(lease.payloads.count) // the raw bytes, and some more
            for (sequence, payload) in lease.slots {
                do {
                    try RecordCodec.decode(lease.payloads[payload], appendingTo: &batch,
                                           identity: stamp ? "\(identity)/\(sequence)" : nil)
                } catch {
                    metrics.corrupt.increment()
                }
            }
            if !batch.records.isEmpty { return (batch, lease) }
            acknowledge(lease)
        }
        return nil
    }
}
