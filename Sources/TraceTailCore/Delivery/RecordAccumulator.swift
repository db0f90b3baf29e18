import Synchronization

/// Collects the batches handed to an output into requests — one per trace (the LangWatch collector, LangSmith) or
/// everything together (OTLP) — and settles each batch once all of its records were delivered or dead-lettered.
/// Requests refer to the batches it holds (`RecordSelection`) instead of copying records. What it holds is bounded
/// by weight: `add` waits for room, which is how backpressure reaches the pipeline. A group goes out when it is
/// full (records or bytes), when its oldest record has waited `maxWait`, or, with `quiet`, when no record joined it
/// for that long.
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

    /// The records of one request, and the batches they came from.
    public struct Chunk: Sendable {
        public var records: RecordSelection
        fileprivate var tickets: [Run]
    }

    /// Delivers a chunk (or dead-letters it) and says which it did; `abandoned` when it was cancelled (shutdown ran
    /// out of time) or could not be dead-lettered, which leaves its records unacknowledged.
    public typealias Deliver = @Sendable (Chunk) async -> BatchStatus

    /// Consecutive records of one held batch.
    fileprivate struct Run: Sendable {
        var ticket: Int
        var records: Range<Int>
    }

    fileprivate struct Group {
        var runs: [Run] = []
        var count = 0
        var bytes = 0
        var first: ContinuousClock.Instant
        var last: ContinuousClock.Instant
    }

    fileprivate struct Held {
        var batch: RecordBatch
        /// Records not yet delivered or dead-lettered.
        var remaining: Int
        /// The worst that happened to its records so far.
        var status = BatchStatus.delivered
    }

    private struct State {
        var groups: [TraceID?: Group] = [:]
        var held: [Int: Held] = [:]
        var heldWeight = 0
        var roomWaiters: [CheckedContinuation<Bool, Never>] = []
        var nextTicket = 0
        var draining = false
        var flusherStarted = false
        var flusher: Task<Void, Never>?
    }

    private let limits: Limits
    private let byTrace: Bool
    private let deliver: Deliver
    private let state = Mutex(State())
    private let wakeup = Wakeup()
    private let stopped = Wakeup()

    /// `byTrace`: one request per trace (records without a trace id go together).
    public init(limits: Limits, byTrace: Bool = false, deliver: @escaping Deliver) {
        self.limits = limits
        self.byTrace = byTrace
        self.deliver = deliver
    }

    /// The records as the requests would group them (per trace when grouping, at most `maxRecords` each), in order.
    public func requestGroups(_ records: [Record]) -> [[Record]] {
        var order: [TraceID?] = []
        var groups: [TraceID?: [Record]] = [:]
        for record in records {
            let key = byTrace ? record.traceID : nil
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(record)
        }
        return order.flatMap { key in
            let group = groups[key]!
            return stride(from: 0, to: group.count, by: limits.maxRecords).map { Array(group[$0..<min($0 + limits.maxRecords, group.count)]) }
        }
    }

    /// Takes a batch once there is room for it (backpressure) and returns; the batch's finalizer is settled once
    /// every record of it went out in a request — with the worst of their statuses (a delivery cut short by
    /// shutdown abandons it, and the records stay unacknowledged).
    public func add(_ batch: RecordBatch) async throws {
        guard !batch.records.isEmpty else { return batch.finalizer?.settle(.delivered) ?? () }
        await waitForRoom(batch.weight)
        try Task.checkCancellation()
        // Which group each stretch of records joins is worked out before taking the lock.
        var stretches: [(key: TraceID?, records: Range<Int>, bytes: Int)] = []
        if byTrace {
            for index in batch.records.indices {
                let key = batch.records[index].traceID
                let bytes = batch.records[index].raw.count + RecordBatch.recordOverhead
                if let last = stretches.indices.last, stretches[last].key == key {
                    stretches[last].records = stretches[last].records.lowerBound..<index + 1
                    stretches[last].bytes += bytes
                } else {
                    stretches.append((key, index..<index + 1, bytes))
                }
            }
        } else {
            stretches.append((nil, batch.records.indices, batch.weight))
        }
        let startFlusher = state.withLock { state -> Bool in
            let ticket = state.nextTicket
            state.nextTicket += 1
            state.held[ticket] = Held(batch: batch, remaining: batch.records.count)
            state.heldWeight += batch.weight
            let now = ContinuousClock.now
            for stretch in stretches {
                state.groups[stretch.key, default: Group(first: now, last: now)].join(Run(ticket: ticket, records: stretch.records),
                                                                                     bytes: stretch.bytes, at: now)
            }
            defer { state.flusherStarted = true }
            return !state.flusherStarted
        }
        if startFlusher {
            let flusher = Task { await self.flushLoop() }
            state.withLock { $0.flusher = flusher }
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
                        self.settle(chunk.tickets, await deliver(chunk))
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
                var group = state.groups.removeValue(forKey: key)!
                let due = state.draining || group.count >= limits.maxRecords || group.bytes >= limits.maxBytes
                    || now - group.first >= limits.maxWait || limits.quiet.map { now - group.last >= $0 } == true
                guard due else {
                    var deadline = group.first + limits.maxWait
                    if let quiet = limits.quiet { deadline = min(deadline, group.last + quiet) }
                    next = min(next ?? deadline, deadline)
                    state.groups[key] = group
                    continue
                }
                while group.count > 0 {
                    chunks.append(group.take(limits.maxRecords, from: state.held))
                    // A partly full remainder waits for more (unless draining).
                    if !state.draining && group.count < limits.maxRecords && now - group.first < limits.maxWait { break }
                }
                if group.count > 0 {
                    group.first = now
                    group.bytes = group.weight(in: state.held)
                    state.groups[key] = group
                }
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

    /// The runs' records went out with `status`; a batch all of whose records did is settled.
    private func settle(_ runs: [Run], _ status: BatchStatus) {
        let finished = state.withLock { state -> [Held] in
            var finished: [Held] = []
            for run in runs {
                state.held[run.ticket]!.remaining -= run.records.count
                state.held[run.ticket]!.status = max(state.held[run.ticket]!.status, status)
                if state.held[run.ticket]!.remaining == 0, let held = state.held.removeValue(forKey: run.ticket) {
                    state.heldWeight -= held.batch.weight
                    finished.append(held)
                }
            }
            return finished
        }
        for held in finished { held.batch.finalizer?.settle(held.status) }
        wakeRoomWaiters()
    }
}

extension RecordAccumulator.Group {
    /// Adds a run of records, extending the last run when it continues it.
    mutating func join(_ run: RecordAccumulator.Run, bytes: Int, at now: ContinuousClock.Instant) {
        if let last = runs.indices.last, runs[last].ticket == run.ticket, runs[last].records.upperBound == run.records.lowerBound {
            runs[last].records = runs[last].records.lowerBound..<run.records.upperBound
        } else {
            runs.append(run)
        }
        count += run.records.count
        self.bytes += bytes
        self.last = now
    }

    /// Takes up to `limit` records from the front as a chunk that refers to the held batches.
    mutating func take(_ limit: Int, from held: [Int: RecordAccumulator.Held]) -> RecordAccumulator.Chunk {
        var records = RecordSelection()
        var taken: [RecordAccumulator.Run] = []
        var left = limit
        var consumed = 0
        while left > 0, consumed < runs.count {
            var run = runs[consumed]
            if run.records.count > left {
                runs[consumed].records = run.records.lowerBound + left..<run.records.upperBound
                run.records = run.records.lowerBound..<run.records.lowerBound + left
            } else {
                consumed += 1
            }
            records.append(held[run.ticket]!.batch, records: run.records)
            taken.append(run)
            left -= run.records.count
        }
        runs.removeFirst(consumed)
        count -= limit - left
        return RecordAccumulator.Chunk(records: records, tickets: taken)
    }

    /// The weight of the records still waiting.
    func weight(in held: [Int: RecordAccumulator.Held]) -> Int {
        runs.reduce(0) { total, run in
            let records = held[run.ticket]!.batch.records
            return total + run.records.reduce(0) { $0 + records[$1].raw.count + RecordBatch.recordOverhead }
        }
    }
}

/// Wakes one waiter, now or when it starts waiting; a wait may also end at a deadline. One timer serves every wait
/// for the same deadline (a flush loop waits many times for the same group), so waiting creates no task per wait.
final class Wakeup: Sendable {
    private struct State {
        var signaled = false
        var waiter: CheckedContinuation<Void, Never>?
        var timer: (deadline: ContinuousClock.Instant, task: Task<Void, Never>)?
    }

    private let state = Mutex(State())

    deinit {
        state.withLock { $0.timer?.task.cancel() }
    }

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
        if let deadline { arm(deadline) }
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
    }

    /// Makes sure a timer signals at `deadline`, replacing one set for another time.
    private func arm(_ deadline: ContinuousClock.Instant) {
        state.withLock { state in
            if state.timer?.deadline == deadline { return }
            state.timer?.task.cancel()
            state.timer = (deadline, Task { [weak self] in
                guard (try? await Task.sleep(until: deadline)) != nil, let self else { return }
                self.state.withLock { state in
                    if state.timer?.deadline == deadline { state.timer = nil }
                }
                self.signal()
            })
        }
    }
}
