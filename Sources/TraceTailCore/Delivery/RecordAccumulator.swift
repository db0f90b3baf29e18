import Synchronization

/// Collects the batches handed to an output into requests — per group (one trace for the LangWatch collector,
/// everything for OTLP) — and settles each batch once all of its records were delivered or dead-lettered. What it
/// holds is bounded by weight: `add` waits for room, which is how backpressure reaches the pipeline. A group goes out when it is full (records or bytes), when its oldest record has waited
/// `maxWait`, or, with `quiet`, when no record joined it for that long.
public final class RecordAccumulator: Sendable {
    public struct Limits: Sendable {
        public var maxRecords: Int
        public var maxBytes: Int
        public var maxWait: Duration
        public var quiet: Duration?
        /// Requests in flight at once.
        public var concurrency: Int
        /// At most this much (batch weight) is held; `add` waits for room beyond it.
        public var maxHeld: Int

        public init(maxRecords: Int, maxBytes: Int, maxWait: Duration, quiet: Duration? = nil, concurrency: Int,
                    maxHeld: Int = 32 << 20) {
            self.maxRecords = maxRecords
            self.maxBytes = maxBytes
            self.maxWait = maxWait
            self.quiet = quiet
            self.concurrency = max(1, concurrency)
            self.maxHeld = maxHeld
        }
    }

    /// Records taken out together, as a batch of their own (raw bytes included, for dead letters).
    public struct Chunk: Sendable {
        public var batch: RecordBatch
        fileprivate var tickets: [Int]
    }

    /// Delivers a chunk (or dead-letters it) and returns true; false when it was cancelled (shutdown ran out of
    /// time), which leaves its records unacknowledged.
    public typealias Deliver = @Sendable (Chunk) async -> Bool

    private struct Group {
        var entries: [(ticket: Int, index: Int)] = []
        var bytes = 0
        var first: ContinuousClock.Instant
        var last: ContinuousClock.Instant
    }

    private struct Held {
        var batch: RecordBatch
        var remaining: Int
        var settled: @Sendable () -> Void
    }

    private struct State {
        var groups: [String: Group] = [:]
        var held: [Int: Held] = [:]
        var heldWeight = 0
        var roomWaiters: [CheckedContinuation<Bool, Never>] = []
        var nextTicket = 0
        var draining = false
        var flusherStarted = false
        var flusher: Task<Void, Never>?
    }

    private let limits: Limits
    private let groupKey: @Sendable (Record) -> String
    private let deliver: Deliver
    private let state = Mutex(State())
    private let wakeup = Wakeup()
    private let stopped = Wakeup()

    public init(limits: Limits, groupKey: @escaping @Sendable (Record) -> String = { _ in "" }, deliver: @escaping Deliver) {
        self.limits = limits
        self.groupKey = groupKey
        self.deliver = deliver
    }

    /// Takes a batch once there is room for it (backpressure) and returns; `settled` is called when every record
    /// of it was delivered or dead-lettered. A delivery cut short by shutdown never calls it (the records stay
    /// unacknowledged).
    /// The records as the requests would group them (per group key, at most `maxRecords` each), in order.
    public func requestGroups(_ records: [Record]) -> [[Record]] {
        var order: [String] = []
        var groups: [String: [Record]] = [:]
        for record in records {
            let key = groupKey(record)
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(record)
        }
        return order.flatMap { key in
            let group = groups[key]!
            return stride(from: 0, to: group.count, by: limits.maxRecords).map { Array(group[$0..<min($0 + limits.maxRecords, group.count)]) }
        }
    }

    public func add(_ batch: RecordBatch, settled: @escaping @Sendable () -> Void) async throws {
        guard !batch.records.isEmpty else { return settled() }
        await waitForRoom(batch.weight)
        try Task.checkCancellation()
        let startFlusher = state.withLock { state -> Bool in
            defer { state.flusherStarted = true }
            return !state.flusherStarted
        }
        if startFlusher {
            let flusher = Task { await self.flushLoop() }
            state.withLock { $0.flusher = flusher }
        }
        state.withLock { state in
            let ticket = state.nextTicket
            state.nextTicket += 1
            state.held[ticket] = Held(batch: batch, remaining: batch.records.count, settled: settled)
            state.heldWeight += batch.weight
            let now = ContinuousClock.now
            for index in batch.records.indices { // by index: borrowing each record, not copying it
                let key = groupKey(batch.records[index])
                state.groups[key, default: Group(first: now, last: now)].entries.append((ticket, index))
                state.groups[key]!.bytes += batch.records[index].raw.count + RecordBatch.recordOverhead
                state.groups[key]!.last = now
            }
        }
        wakeup.signal()
    }

    /// Sends everything held now and waits until it went out (shutdown). Cancelled (the grace period ran out),
    /// it stops the requests still retrying; their records stay unacknowledged.
    public func drain() async {
        let running = state.withLock { state -> Bool in
            state.draining = true
            return state.flusherStarted
        }
        guard running else { return }
        wakeup.signal()
        await withTaskCancellationHandler {
            await stopped.wait(until: nil)
        } onCancel: {
            state.withLock { $0.flusher }?.cancel()
            wakeup.signal()
            stopped.signal()
        }
    }

    private func flushLoop() async {
        await withTaskGroup(of: Void.self) { deliveries in
            var inFlight = 0
            while !Task.isCancelled {
                let (chunks, next, finished) = takeReady(now: .now)
                for chunk in chunks {
                    if inFlight >= limits.concurrency {
                        await deliveries.next()
                        inFlight -= 1
                    }
                    inFlight += 1
                    deliveries.addTask { [deliver] in
                        if await deliver(chunk) { self.settle(chunk.tickets) }
                    }
                }
                if finished && chunks.isEmpty {
                    await deliveries.waitForAll()
                    if state.withLock({ $0.groups.isEmpty }) { break }
                    continue
                }
                if chunks.isEmpty { await wakeup.wait(until: next) }
            }
        }
        state.withLock { $0.flusherStarted = false }
        stopped.signal()
    }

    /// The chunks due now, the earliest time another one falls due, and whether a drain wants everything out.
    private func takeReady(now: ContinuousClock.Instant) -> ([Chunk], ContinuousClock.Instant?, Bool) {
        state.withLock { state in
            var chunks: [Chunk] = []
            var next: ContinuousClock.Instant?
            for key in Array(state.groups.keys) {
                var group = state.groups[key]!
                let due = state.draining || group.entries.count >= limits.maxRecords || group.bytes >= limits.maxBytes
                    || now - group.first >= limits.maxWait || limits.quiet.map { now - group.last >= $0 } == true
                guard due else {
                    var deadline = group.first + limits.maxWait
                    if let quiet = limits.quiet { deadline = min(deadline, group.last + quiet) }
                    next = min(next ?? deadline, deadline)
                    continue
                }
                while !group.entries.isEmpty {
                    let count = min(limits.maxRecords, group.entries.count)
                    let taken = group.entries.prefix(count)
                    group.entries.removeFirst(count)
                    var batch = RecordBatch(ack: AckToken(0))
                    batch.records.reserveCapacity(count)
                    var source = RecordBatch(ack: AckToken(0))
                    var sourceTicket = -1
                    for (ticket, index) in taken {
                        if ticket != sourceTicket { // looked up once per run of records from the same batch
                            source = state.held[ticket]!.batch
                            sourceTicket = ticket
                        }
                        let start = batch.storage.count
                        batch.storage.append(contentsOf: source.storage[source.records[index].raw])
                        batch.records.append(source.records[index])
                        batch.records[batch.records.count - 1].raw = start..<batch.storage.count
                    }
                    chunks.append(Chunk(batch: batch, tickets: taken.map(\.ticket)))
                    // A partly full remainder waits for more (unless draining).
                    if !state.draining && group.entries.count < limits.maxRecords && now - group.first < limits.maxWait {
                        break
                    }
                }
                state.groups[key] = group.entries.isEmpty ? nil : Group(entries: group.entries, bytes: group.entries.count * 256,
                                                                       first: now, last: group.last)
            }
            return (chunks, next, state.draining)
        }
    }

    /// Waits while what is held plus `weight` is over the limit (an empty accumulator always takes a batch).
    private func waitForRoom(_ weight: Int) async {
        await withTaskCancellationHandler {
            while !Task.isCancelled {
                let waited = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                    let roomy = state.withLock { state -> Bool in
                        if state.heldWeight == 0 || state.heldWeight + weight <= limits.maxHeld || Task.isCancelled { return true }
                        state.roomWaiters.append(continuation)
                        return false
                    }
                    if roomy { continuation.resume(returning: false) }
                }
                if !waited { return }
            }
        } onCancel: {
            wakeRoomWaiters()
        }
    }

    /// Lets every `add` waiting for room look again.
    private func wakeRoomWaiters() {
        let waiting = state.withLock { state in
            defer { state.roomWaiters.removeAll() }
            return state.roomWaiters
        }
        waiting.forEach { $0.resume(returning: true) }
    }

    private func settle(_ tickets: [Int]) {
        let finished = state.withLock { state -> [@Sendable () -> Void] in
            var finished: [@Sendable () -> Void] = []
            for ticket in tickets {
                state.held[ticket]!.remaining -= 1
                if state.held[ticket]!.remaining == 0, let held = state.held.removeValue(forKey: ticket) {
                    state.heldWeight -= held.batch.weight
                    finished.append(held.settled)
                }
            }
            return finished
        }
        finished.forEach { $0() }
        wakeRoomWaiters()
    }
}

/// Wakes one waiter, now or when it starts waiting; a wait may also end at a deadline.
final class Wakeup: Sendable {
    private struct State {
        var signaled = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func signal() {
        state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter.take() else {
                state.signaled = true
                return nil
            }
            return waiter
        }?.resume()
    }

    /// Returns when signalled (or signalled before), or at `deadline`.
    func wait(until deadline: ContinuousClock.Instant?) async {
        let timer = deadline.map { deadline in Task { [weak self] in
            try? await Task.sleep(until: deadline)
            self?.signal()
        } }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.signaled {
                    state.signaled = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if ready { continuation.resume() }
        }
        timer?.cancel()
    }
}
