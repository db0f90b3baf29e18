import DequeModule

/// Joins records into traces after the parsers and before ids are defaulted (`SpanDefaults`): a runtime step of
/// its own, fed batch by batch by one task.
///
/// - A record that carries a trace id keeps it (`trace_id_from` sets one too). One without takes its tree's:
///   the trace id a parent or child in the tree carries (the first seen wins), or one derived from the tree's root
///   span id — `TraceID(hashing:)` of its 8 big-endian bytes — or, when the root has not come within `wait`, from
///   the earliest ancestor id known. Derived ids depend only on the lines, so a re-read gives the same ids.
/// - A record with no trace id, no parent and a correlation field (`request_id`, …) takes a trace id from that
///   field's value, as `trace_id_from` would; its children take it from it.
/// - Records with one span id are one span (`Record.absorb`): a line that states no end (no end time, no duration)
///   is held, to be merged with the span's later lines, until a line states the end or `wait` runs out. A line of a
///   span already sent becomes a child of it (with an id of its own), so two spans with one id are never sent.
/// - Only records that can still change are held: those whose tree has no trace id yet (their parent was not
///   seen), and spans whose end was not logged. The rest pass straight through, in their batch.
/// - Memory is bounded: at most `max_pending` records are held (past that the oldest are emitted early, with the
///   trace id their tree would get at the end of the window), and the ids remembered for children that come later
///   are two generations of at most `rememberedSpans` each.
///
/// Not thread-safe: one task owns it. Time is passed in (`now`, monotonic nanoseconds), so tests control it.
public struct TraceAssembler: Sendable {
    /// Span ids remembered per generation, with their trace id, for children and later lines that come after.
    public static let rememberedSpans = 16_384

    let settings: AssemblySettings
    private let wait: UInt64
    private let counters: AssemblyCounters

    /// A held record: a span waiting for its tree or for more of its lines.
    struct Pending: Sendable {
        var record: Record
        /// The record's raw bytes (of its first line, when merged); `record.raw` indexes them.
        var raw: [UInt8]
        /// The input batches its lines came from.
        var shares: AcknowledgementShares
        /// The trace id of its tree, once known.
        var trace: TraceID?
        /// A line stated the span's end.
        var closed: Bool
    }

    /// What is known of a span id: its trace, and whether its span went out already.
    struct Known: Sendable {
        var trace: TraceID
        var sent: Bool
    }

    private var known: RecentMap<SpanID, Known>
    private var pending: [UInt64: Pending] = [:]
    /// Held entries in arrival order with their deadlines; entries emitted since stay here until they reach the front.
    private var order = Deque<(entry: UInt64, deadline: UInt64)>()
    /// Held spans by span id.
    private var bySpan: [SpanID: UInt64] = [:]
    /// Held records whose tree has no trace id yet, by the parent id they wait for.
    private var waiting: [SpanID: [UInt64]] = [:]
    private var nextEntry: UInt64 = 0
    /// Entries that became ready during the current call.
    private var outbox: [Pending] = []

    public init(settings: AssemblySettings, metrics: MetricsScope) {
        self.settings = settings
        wait = settings.waitNanoseconds
        counters = AssemblyCounters(metrics)
        known = RecentMap(capacity: Self.rememberedSpans)
    }

    /// Records held now.
    public var pendingCount: Int { pending.count }

    /// Assembles one input batch. Returns nil when the batch goes out as it is (no record was held, none released);
    /// otherwise the batch was rewritten — held records taken out, records released from earlier batches (and by
    /// `now`, records whose wait ran out) appended — and the shares say which input batches its records came from.
    /// `acknowledgement` makes the batch's split acknowledgement when its records are split; it is called at most once.
    public mutating func assemble(_ batch: inout RecordBatch, now: UInt64,
                                  acknowledgement: () -> SplitAcknowledgement) -> AcknowledgementShares? {
        expire(before: now)
        var split: SplitAcknowledgement?
        var held: [Int] = []
        let storage = batch.storage
        for index in batch.records.indices {
            let kept = admit(&batch.records[index], raw: storage, now: now) {
                if let split { return split }
                split = acknowledgement()
                return split!
            }
            if !kept { held.append(index) }
        }
        while pending.count > settings.maxPending, let first = order.popFirst() {
            guard pending[first.entry] != nil else { continue }
            counters.emittedEarly.increment()
            finish(first.entry)
        }
        counters.pending.set(pending.count)
        guard !held.isEmpty || !outbox.isEmpty else { return nil }
        if !held.isEmpty {
            var records: [Record] = []
            records.reserveCapacity(batch.records.count - held.count)
            var next = held.makeIterator()
            var skip = next.next()
            for (index, record) in batch.records.enumerated() {
                if index == skip { skip = next.next() } else { records.append(record) }
            }
            batch.records = records
        }
        var shares = AcknowledgementShares()
        if !batch.records.isEmpty {
            let split = split ?? acknowledgement()
            shares.add(split, records: batch.records.count)
        }
        drainOutbox(into: &batch, shares: &shares)
        return shares
    }

    /// Records whose wait ran out by `now`, as a batch of their own, or nil when none did.
    public mutating func expire(now: UInt64) -> (batch: RecordBatch, shares: AcknowledgementShares)? {
        expire(before: now)
        return takeOutbox()
    }

    /// Every held record, for `--once` and shutdown: unresolved trees get their ids as at the end of their wait.
    public mutating func flush() -> (batch: RecordBatch, shares: AcknowledgementShares)? {
        while let first = order.popFirst() { finish(first.entry) }
        return takeOutbox()
    }

    /// The monotonic time at which the oldest held record's wait runs out, or nil when none is held.
    public var nextDeadline: UInt64? {
        order.first { pending[$0.entry] != nil }?.deadline
    }

    /// Assembles a whole sample as one window, for `tracetail test`: every record comes out (held ones at the end),
    /// with no acknowledgement to make.
    public static func assemble(sample batch: inout RecordBatch, settings: AssemblySettings, metrics: MetricsScope) {
        var assembler = TraceAssembler(settings: settings, metrics: metrics)
        let (token, records) = (batch.ack, batch.records.count)
        _ = assembler.assemble(&batch, now: 0) {
            SplitAcknowledgement(token: token, records: records, receiver: NoAcknowledgement())
        }
        if let rest = assembler.flush() { batch.append(contentsOf: rest.batch) }
    }

    /// Takes acknowledgements nobody waits for.
    private struct NoAcknowledgement: AcknowledgementReceiver {
        func acknowledge(_ token: AckToken, status: BatchStatus) {}
    }

    // MARK: - Admission

    /// Gives the record its trace id when it can; false when it was held (taken into `pending`, merged or not).
    private mutating func admit(_ record: inout Record, raw storage: [UInt8], now: UInt64,
                                split: () -> SplitAcknowledgement) -> Bool {
        let span = record.spanID, parent = record.parentSpanID
        guard span != nil || parent != nil else {
            if record.traceID == nil { record.traceID = correlationTrace(record) }
            return true
        }
        let earlier = span.flatMap { known[$0] }
        if let span {
            if !bySpan.isEmpty, let entry = bySpan[span] {
                merge(record, into: entry, share: split())
                return false
            }
            if let earlier, earlier.sent { // a later line of a span already sent: a child of it
                record.parentSpanID = span
                record.spanID = nil
                if record.traceID == nil { record.traceID = earlier.trace }
                return true
            }
        }
        let closed = record.endTime != nil
        let trace = record.traceID ?? earlier?.trace ?? parent.flatMap { known[$0]?.trace }
            ?? (parent == nil ? correlationTrace(record) ?? Self.derivedTrace(root: span!) : nil)
        if let trace {
            record.traceID = trace
            if let parent { learn(parent, trace) }
            if let span {
                known[span] = Known(trace: earlier?.trace ?? trace, sent: closed)
                if !pending.isEmpty { propagate([(span, trace)]) } // children that came first
            }
            if closed { return true }
        }
        var pendingRecord = record
        pendingRecord.raw = 0..<record.raw.count
        var shares = AcknowledgementShares()
        shares.add(split(), records: 1)
        let entry = nextEntry
        nextEntry += 1
        pending[entry] = Pending(record: pendingRecord, raw: Array(storage[record.raw]), shares: shares, trace: trace,
                                 closed: closed)
        order.append((entry, now &+ wait))
        if let span { bySpan[span] = entry }
        if trace == nil, let parent { waiting[parent, default: []].append(entry) }
        return false
    }

    /// Folds a later line of a held span into it.
    private mutating func merge(_ record: Record, into entry: UInt64, share: SplitAcknowledgement) {
        guard var held = pending[entry] else { return }
        held.record.absorb(record)
        held.shares.add(share, records: 1)
        held.closed = held.closed || record.endTime != nil
        pending[entry] = held
        counters.spansMerged.increment()
        if held.trace == nil, let trace = held.record.traceID {
            propagate(settle(entry, trace))
        } else if held.closed, held.trace != nil {
            emit(entry)
        }
    }

    // MARK: - Resolution

    /// `span` is in trace `trace` (it is a root, or a child or parent said so): remembered for what comes later,
    /// and given to what is held for it — the records waiting below it, and its own record with its ancestors.
    /// Iterative, so that a deep tree cannot exhaust the stack.
    private mutating func learn(_ span: SpanID, _ trace: TraceID) {
        if known[span] == nil { remember(span, trace, sent: false) }
        if !pending.isEmpty { propagate([(span, trace)]) } // else nothing waits for it
    }

    private mutating func propagate(_ work: [(span: SpanID, trace: TraceID)]) {
        var work = work
        while let (span, trace) = work.popLast() {
            if known[span] == nil { remember(span, trace, sent: false) }
            if !waiting.isEmpty, let children = waiting.removeValue(forKey: span) {
                counters.treesClosed.increment()
                for child in children { work += settle(child, trace) }
            }
            if let entry = bySpan[span], pending[entry]?.trace == nil { work += settle(entry, trace) }
        }
    }

    /// A held record's tree has trace `trace` (its own trace id wins): it goes out now when its span is closed.
    /// Returns the ids its trace is learned for next: its parent and its own span.
    private mutating func settle(_ entry: UInt64, _ trace: TraceID) -> [(span: SpanID, trace: TraceID)] {
        guard var held = pending[entry], held.trace == nil else { return [] }
        let trace = held.record.traceID ?? trace
        held.trace = trace
        held.record.traceID = trace
        pending[entry] = held
        var next: [(span: SpanID, trace: TraceID)] = []
        if let parent = held.record.parentSpanID {
            if var siblings = waiting.removeValue(forKey: parent) {
                siblings.removeAll { $0 == entry }
                if !siblings.isEmpty { waiting[parent] = siblings }
            }
            next.append((parent, trace))
        }
        if let span = held.record.spanID { next.append((span, trace)) }
        if held.closed { emit(entry) }
        return next
    }

    /// Emits a held record now; an unresolved tree first gets the trace id derived from its earliest known ancestor.
    private mutating func finish(_ entry: UInt64) {
        guard let held = pending[entry] else { return }
        if held.trace == nil, let parent = held.record.parentSpanID {
            let root = topmost(from: parent)
            learn(root, known[root]?.trace ?? Self.derivedTrace(root: root))
        }
        emit(entry)
    }

    /// The earliest ancestor known from `parent` upwards through held records without a trace id.
    private func topmost(from parent: SpanID) -> SpanID {
        var ancestor = parent
        var steps = 0 // a cycle of parent ids ends when every held record was visited
        while steps < pending.count, let entry = bySpan[ancestor], let held = pending[entry], held.trace == nil,
              let up = held.record.parentSpanID {
            ancestor = up
            steps += 1
        }
        return ancestor
    }

    private mutating func emit(_ entry: UInt64) {
        guard let held = pending.removeValue(forKey: entry) else { return }
        if let span = held.record.spanID {
            bySpan[span] = nil
            remember(span, held.trace ?? Self.derivedTrace(root: span), sent: true)
        }
        outbox.append(held)
    }

    private mutating func remember(_ span: SpanID, _ trace: TraceID, sent: Bool) {
        known[span] = Known(trace: known[span]?.trace ?? trace, sent: sent)
    }

    private mutating func expire(before now: UInt64) {
        while let first = order.first, first.deadline <= now || pending[first.entry] == nil {
            order.removeFirst()
            finish(first.entry)
        }
    }

    // MARK: - Output

    private mutating func drainOutbox(into batch: inout RecordBatch, shares: inout AcknowledgementShares) {
        for held in outbox {
            var record = held.record
            let start = batch.storage.count
            batch.storage.append(contentsOf: held.raw)
            record.raw = start..<batch.storage.count
            batch.records.append(record)
            shares.add(held.shares)
        }
        outbox.removeAll(keepingCapacity: true)
    }

    private mutating func takeOutbox() -> (batch: RecordBatch, shares: AcknowledgementShares)? {
        counters.pending.set(pending.count)
        guard !outbox.isEmpty else { return nil }
        var batch = RecordBatch(ack: AckToken(0))
        var shares = AcknowledgementShares()
        drainOutbox(into: &batch, shares: &shares)
        return (batch, shares)
    }

    // MARK: - Ids

    /// The trace id of a tree whose root (or earliest known ancestor) is `root` and that carries none.
    public static func derivedTrace(root: SpanID) -> TraceID {
        withUnsafeBytes(of: root.value.bigEndian) { TraceID(hashing: $0) }
    }

    /// The trace id from the first correlation field the record has, as `trace_id_from` makes it.
    private func correlationTrace(_ record: Record) -> TraceID? {
        guard !record.attributes.isEmpty else { return nil }
        for field in settings.correlationFields {
            switch record.attributes[field] {
            case .string(let text)? where !text.isEmpty: return TraceID(hex: text) ?? TraceID(hashing: text.utf8)
            case .int(let number)?: return TraceID(hashing: String(number).utf8)
            default: continue
            }
        }
        return nil
    }
}

/// What trace assembly counts, per pipeline (stage `assembly`).
struct AssemblyCounters: Sendable {
    /// Records held now.
    let pending: MetricGauge
    /// Groups of held records that got their trace id (their root or an ancestor arrived, or their wait ran out).
    let treesClosed: MetricCounter
    /// Lines merged into a span held with the same span id.
    let spansMerged: MetricCounter
    /// Records emitted before their wait ran out, because `max_pending` were held.
    let emittedEarly: MetricCounter

    init(_ scope: MetricsScope) {
        pending = scope.gauge("assembly_pending_records")
        treesClosed = scope.counter("assembly_trees_closed_total")
        spansMerged = scope.counter("assembly_spans_merged_total")
        emittedEarly = scope.counter("assembly_records_emitted_early_total")
    }
}

/// A map that remembers about the last `capacity` to `2 × capacity` keys written: two generations, the older
/// dropped whole when the newer fills. Cheaper than an LRU list, and bounded all the same.
struct RecentMap<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private var current: [Key: Value] = [:]
    private var previous: [Key: Value] = [:]
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    subscript(key: Key) -> Value? {
        get { current[key] ?? (previous.isEmpty ? nil : previous[key]) }
        set {
            current[key] = newValue
            if newValue == nil { previous[key] = nil }
            if current.count >= capacity {
                previous = current
                current = [:]
            }
        }
    }
}
