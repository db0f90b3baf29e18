#if canImport(Glibc)
import Glibc
#endif
import CZlib
import DequeModule
import Synchronization

/// A durable FIFO of byte entries: append-only segment files, each entry with a sequence number, its append time
/// and a CRC-32. Entries are handed out in order and acknowledged in any order; a restart hands out again every
/// entry not acknowledged. Segments are deleted once all their entries are acknowledged. A torn or corrupt entry
/// (a crash mid-write, a damaged disk) is skipped and counted, never fatal.
///
/// Files in `directory`: `<first sequence>.seg` segments, `acknowledged` (every sequence up to this number is
/// done; written by rename, so a crash leaves the old or the new number — at worst entries are handed out twice,
/// never lost) and `queue.id` (a random identity, so that ids derived from sequence numbers differ between a
/// queue and one created after it was deleted).
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
        /// A new segment starts once the current one is this large.
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

    /// What recovery found on open.
    public struct Recovery: Sendable {
        /// Entries handed out again (appended, never acknowledged).
        public var replayed = 0
        /// Torn or corrupt entries skipped.
        public var corrupt = 0
    }

    static let headerBytes = 24

    private struct Segment {
        var first: UInt64
        /// The sequence after its last entry.
        var end: UInt64
        var path: String
        var readDescriptor: Int32 = -1
    }

    private struct Located {
        var sequence: UInt64
        var segment: UInt64
        var offset: Int
        var length: Int
        var appendedAt: UInt64
    }

    private struct State {
        var segments: [Segment] = []
        var writeDescriptor: Int32 = -1
        var writeOffset = 0
        var nextSequence: UInt64 = 1
        var unread: Deque<Located> = []
        /// Handed out and not yet acknowledged, in sequence order.
        var outstanding: Deque<Located> = []
        var acknowledged: Set<UInt64> = []
        var acknowledgedThrough: UInt64 = 0
        var pendingBytes = 0
        var reader: CheckedContinuation<Void, Never>?
        var deliveryWaiters: [UInt64: CheckedContinuation<Bool, Never>] = [:]
        var closed = false
    }

    public let directory: String
    public let settings: Settings
    /// This queue's random identity (see the type's comment).
    public let identity: String
    public let recovery: Recovery
    private let state: Mutex<State>
    /// The highest sequence known to be on disk; fsyncs take this lock so that one serves every writer waiting.
    private let synced = Mutex<UInt64>(0)
    private let persisted = Mutex<UInt64>(0)
    let metrics: QueueMetrics

    /// Opens (or creates) the queue in `directory` and finds every unacknowledged entry.
    public init(directory: String, settings: Settings, metrics: MetricsScope) throws(SystemError) {
        self.directory = directory
        self.settings = settings
        self.metrics = QueueMetrics(metrics)
        try FileSystem.createDirectory(directory)
        identity = try Self.identity(in: directory)
        var state = State()
        if case .found(let bytes) = AtomicFile.read(directory + "/acknowledged"),
           let number = UInt64(String(decoding: bytes, as: UTF8.self).trimmingWhitespace()) {
            state.acknowledgedThrough = number
        }
        var recovery = Recovery()
        var highest = state.acknowledgedThrough
        for (first, path) in try Self.segmentFiles(in: directory) {
            let bytes = try FileSystem.read(path)
            var segment = Segment(first: first, end: first, path: path)
            var offset = 0
            while offset < bytes.count {
                guard let entry = Self.entry(in: bytes, at: offset) else {
                    recovery.corrupt += 1
                    // A torn tail, or a header too damaged to find the next entry: the rest of the file is lost.
                    break
                }
                if let sequence = entry.sequence {
                    highest = max(highest, sequence)
                    segment.end = max(segment.end, sequence + 1)
                    if sequence > state.acknowledgedThrough {
                        state.unread.append(Located(sequence: sequence, segment: first, offset: offset + Self.headerBytes,
                                                    length: entry.length, appendedAt: entry.appendedAt))
                        state.pendingBytes += Self.headerBytes + entry.length
                    }
                } else {
                    recovery.corrupt += 1
                }
                offset += Self.headerBytes + entry.length
            }
            if segment.end <= state.acknowledgedThrough + 1 {
                unlink(path)
            } else {
                state.segments.append(segment)
            }
        }
        state.unread.sort { $0.sequence < $1.sequence }
        recovery.replayed = state.unread.count
        state.nextSequence = highest + 1
        self.recovery = recovery
        persisted.withLock { $0 = state.acknowledgedThrough }
        self.state = Mutex(state)
        try self.state.withLock { state throws(SystemError) in try startSegment(&state) }
        self.metrics.corrupt.increment(by: recovery.corrupt)
        updateGauges()
        Self.openQueues.withLock { $0.append(Weak(self)) }
    }

    deinit {
        state.withLock { state in
            if state.writeDescriptor >= 0 { close(state.writeDescriptor) }
            for segment in state.segments where segment.readDescriptor >= 0 { close(segment.readDescriptor) }
        }
    }

    /// Appends one entry; returns its sequence number once it is written (and, with `fsync: always`, synced).
    /// Throws `Full` when the queue holds `maxBytes` already.
    @discardableResult
    public func append(_ payload: [UInt8]) async throws -> UInt64 {
        let sequence = try state.withLock { state throws -> UInt64 in
            guard !state.closed else { throw CancellationError() }
            let size = Self.headerBytes + payload.count
            guard state.pendingBytes + size <= settings.maxBytes || state.pendingBytes == 0 && size <= settings.maxBytes else {
                throw Full()
            }
            if state.writeOffset >= settings.segmentBytes { try startSegment(&state) }
            let sequence = state.nextSequence
            let now = Clock.nowNanoseconds
            var entry = [UInt8](repeating: 0, count: Self.headerBytes)
            entry.reserveCapacity(size)
            Self.store(UInt32(payload.count), in: &entry, at: 0)
            Self.store(sequence, in: &entry, at: 8)
            Self.store(now, in: &entry, at: 16)
            entry.append(contentsOf: payload)
            Self.store(Self.checksum(entry), in: &entry, at: 4)
            let path = state.segments[state.segments.count - 1].path
            do {
                try FileSystem.writeAll(entry, to: state.writeDescriptor, path: path)
            } catch {
                ftruncate(state.writeDescriptor, off_t(state.writeOffset)) // no torn entry before the next one
                throw error
            }
            state.unread.append(Located(sequence: sequence, segment: state.segments[state.segments.count - 1].first,
                                        offset: state.writeOffset + Self.headerBytes, length: payload.count, appendedAt: now))
            state.writeOffset += size
            state.pendingBytes += size
            state.nextSequence += 1
            state.segments[state.segments.count - 1].end = sequence + 1
            return sequence
        }
        if settings.fsync == .always { try await sync(through: sequence) }
        wakeReader()
        updateGauges()
        return sequence
    }

    /// The next entry in sequence order, waiting for one (unless `waiting` is false); nil once the queue is
    /// stopped or the task cancelled.
    public func next(waiting: Bool = true) async -> Entry? {
        while !Task.isCancelled {
            let found = state.withLock { state -> (Located, Int32)? in
                guard let located = state.unread.popFirst() else { return nil }
                state.outstanding.append(located)
                guard let index = state.segments.firstIndex(where: { $0.first == located.segment }) else { return (located, -1) }
                if state.segments[index].readDescriptor < 0 {
                    state.segments[index].readDescriptor = open(state.segments[index].path, O_RDONLY | O_CLOEXEC)
                }
                return (located, state.segments[index].readDescriptor)
            }
            if let (located, descriptor) = found {
                var payload = [UInt8](repeating: 0, count: located.length)
                let count = payload.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, located.length, off_t(located.offset)) }
                guard count == located.length else {
                    // Vanished underneath us (deleted by hand): count it, acknowledge it, go on.
                    metrics.corrupt.increment()
                    acknowledge(located.sequence)
                    continue
                }
                return Entry(sequence: located.sequence, payload: payload)
            }
            if !waiting || state.withLock({ $0.closed }) { return nil }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { state -> Bool in
                        if !state.unread.isEmpty || state.closed || Task.isCancelled { return true }
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

    /// Marks an entry handed out by `next` as done; entries before it may still be outstanding.
    public func acknowledge(_ sequence: UInt64) {
        let (through, waiter, doneSegments) = state.withLock { state -> (UInt64, CheckedContinuation<Bool, Never>?, [Segment]) in
            state.acknowledged.insert(sequence)
            while let first = state.outstanding.first, state.acknowledged.remove(first.sequence) != nil {
                state.outstanding.removeFirst()
                state.pendingBytes -= Self.headerBytes + first.length
            }
            state.acknowledgedThrough = (state.outstanding.first?.sequence ?? state.unread.first?.sequence ?? state.nextSequence) - 1
            var done: [Segment] = []
            while state.segments.count > 1, state.segments[0].end <= state.acknowledgedThrough + 1 {
                done.append(state.segments.removeFirst())
            }
            return (state.acknowledgedThrough, state.deliveryWaiters.removeValue(forKey: sequence), done)
        }
        for segment in doneSegments {
            if segment.readDescriptor >= 0 { close(segment.readDescriptor) }
            unlink(segment.path)
        }
        persist(through)
        waiter?.resume(returning: true)
        updateGauges()
    }

    /// Waits until `sequence` is acknowledged; false when the task was cancelled first.
    public func acknowledged(_ sequence: UInt64) async -> Bool {
        let id = sequence
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let done = state.withLock { state -> Bool? in
                    if Task.isCancelled || state.closed { return false }
                    if sequence <= state.acknowledgedThrough || state.acknowledged.contains(sequence) { return true }
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
        state.withLock { state in
            (state.unread.count + state.outstanding.count - state.acknowledged.count, state.pendingBytes,
             state.outstanding.first?.appendedAt ?? state.unread.first?.appendedAt)
        }
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

    // MARK: - Files

    private func startSegment(_ state: inout State) throws(SystemError) {
        if state.writeDescriptor >= 0 {
            if settings.fsync == .always { fsync(state.writeDescriptor) }
            close(state.writeDescriptor)
        }
        let first = state.nextSequence
        let name = String(first)
        let path = directory + "/" + String(repeating: "0", count: max(0, 20 - name.count)) + name + ".seg"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw SystemError("cannot create", path: path) }
        state.writeDescriptor = descriptor
        state.writeOffset = 0
        state.segments.append(Segment(first: first, end: first, path: path))
        Self.syncDirectory(directory)
    }

    /// Forces every entry up to `sequence` to disk; one fsync serves every writer waiting for it.
    private func sync(through sequence: UInt64) async throws {
        try await BlockingIO.run { [self] in
            try synced.withLock { (syncedThrough: inout UInt64) throws in
                guard syncedThrough < sequence else { return }
                let (descriptor, written) = state.withLock { state in (dup(state.writeDescriptor), state.nextSequence - 1) }
                guard descriptor >= 0 else { throw SystemError("cannot sync", path: directory) }
                defer { close(descriptor) }
                guard fsync(descriptor) == 0 else { throw SystemError("cannot fsync", path: directory) }
                syncedThrough = written
            }
        }
    }

    /// Records how far the queue is acknowledged (rename, no fsync: a stale number replays, it never loses).
    private func persist(_ through: UInt64) {
        persisted.withLock { last in
            guard through > last else { return }
            let path = directory + "/acknowledged"
            let temporary = path + ".tmp"
            let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { return }
            let written = (try? FileSystem.writeAll(Array("\(through)\n".utf8), to: descriptor, path: temporary)) != nil
            close(descriptor)
            if written && rename(temporary, path) == 0 { last = through }
        }
    }

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
            close(descriptor)
        }
    }

    // MARK: - Entry format: length u32, crc32 u32 (of everything else), sequence u64, appended-at u64, payload

    /// The entry at `offset`: nil when its header runs past the end (or claims more than is there); a nil
    /// sequence when its checksum fails (the length still says where the next one starts).
    private static func entry(in bytes: [UInt8], at offset: Int) -> (sequence: UInt64?, length: Int, appendedAt: UInt64)? {
        guard bytes.count - offset >= headerBytes else { return nil }
        let length = Int(load(UInt32.self, bytes, offset))
        guard bytes.count - offset - headerBytes >= length else { return nil }
        var copy = Array(bytes[offset..<offset + headerBytes + length])
        store(UInt32(0), in: &copy, at: 4)
        let valid = checksum(copy) == load(UInt32.self, bytes, offset + 4)
        return (valid ? load(UInt64.self, bytes, offset + 8) : nil, length, load(UInt64.self, bytes, offset + 16))
    }

    private static func checksum(_ entry: [UInt8]) -> UInt32 {
        entry.withUnsafeBytes { UInt32(crc32(0, $0.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt($0.count))) }
    }

    private static func store<T: FixedWidthInteger>(_ value: T, in bytes: inout [UInt8], at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { source in
            for (index, byte) in source.enumerated() { bytes[offset + index] = byte }
        }
    }

    private static func load<T: FixedWidthInteger>(_: T.Type, _ bytes: [UInt8], _ offset: Int) -> T {
        var value: T = 0
        for index in 0..<MemoryLayout<T>.size { value |= T(bytes[offset + index]) << (8 * index) }
        return value
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
    /// Stores a batch; returns its sequence once it is durable (per `fsync`). Throws `Full` when there is no room.
    @discardableResult
    public func append(_ batch: RecordBatch) async throws -> UInt64 {
        try await append(RecordCodec.encode(batch))
    }

    /// Stores a batch, waiting while the queue is full (backpressure for producers that can wait).
    public func appendWaiting(_ batch: RecordBatch) async throws {
        let payload = RecordCodec.encode(batch)
        while true {
            do {
                try await append(payload)
                return
            } catch is Full {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// The next stored batch, its token the entry's sequence; nil once stopped or cancelled (or, not `waiting`,
    /// when none is there). An entry that no
    /// longer decodes is counted as corrupt and acknowledged.
    public func nextBatch(waiting: Bool = true) async -> RecordBatch? {
        while let entry = await next(waiting: waiting) {
            do {
                return try RecordCodec.decode(entry.payload, ack: AckToken(entry.sequence))
            } catch {
                metrics.corrupt.increment()
                acknowledge(entry.sequence)
            }
        }
        return nil
    }
}
