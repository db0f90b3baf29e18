/// The span ids trace assembly remembers, with what is known of each (`TraceAssembler.Known`): about the last
/// `capacity` to `2 × capacity` ids written, in two generations — the older is forgotten whole when the newer fills.
///
/// Hand-written because it is on the hot path: every record with a span id is looked up and written here. With two
/// `Dictionary`s, SipHash, regrowth and the dropped generation's release cost about 0.5 µs per record — a third of
/// the CPU of an e2e run of 1M JSON lines with span ids (perf, production build). Here a generation is a fixed
/// open-addressing table (linear probing, at most half full) indexed by a multiplicative hash of the id's 64 bits,
/// cleared in place when it becomes the newer again: no allocation after the first, one probe sequence per lookup.
struct RecentSpans: Sendable {
    private struct Slot: Sendable {
        /// The span id's bits; 0 is an empty slot (an all-zero span id means "none" and is never stored).
        var span: UInt64 = 0
        var trace = TraceID(high: 0, low: 0)
        var sent = false
    }

    private var newer: [Slot]
    private var older: [Slot]
    private var newerCount = 0
    private let capacity: Int
    private let shift: UInt64

    /// - Parameter capacity: ids per generation; each table has the next power of two above twice as many slots.
    init(capacity: Int) {
        self.capacity = capacity
        var bits: UInt64 = 1
        while 1 << bits < 2 * capacity { bits += 1 }
        shift = 64 - bits
        newer = Array(repeating: Slot(), count: 1 << bits)
        older = []
    }

    subscript(span: SpanID) -> TraceAssembler.Known? {
        if let index = Self.find(span.value, in: newer, shift), newer[index].span != 0 { return Self.known(newer[index]) }
        if !older.isEmpty, let index = Self.find(span.value, in: older, shift), older[index].span != 0 {
            return Self.known(older[index])
        }
        return nil
    }

    /// Writes what is known of `span` into the newer generation.
    mutating func set(_ span: SpanID, _ known: TraceAssembler.Known) {
        guard span.value != 0, let index = Self.find(span.value, in: newer, shift) else { return }
        if newer[index].span == 0 { newerCount += 1 }
        newer[index] = Slot(span: span.value, trace: known.trace, sent: known.sent)
        if newerCount >= capacity {
            swap(&newer, &older)
            if newer.isEmpty {
                newer = Array(repeating: Slot(), count: older.count)
            } else {
                newer.withUnsafeMutableBufferPointer { $0.update(repeating: Slot()) }
            }
            newerCount = 0
        }
    }

    /// The slot holding `span`, or the empty slot where it would go (nil only for the id 0). A table is at most
    /// half full, so a probe sequence always ends.
    private static func find(_ span: UInt64, in table: [Slot], _ shift: UInt64) -> Int? {
        guard span != 0 else { return nil }
        let mask = table.count - 1
        var index = Int(truncatingIfNeeded: (span &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while table[index].span != 0 && table[index].span != span { index = (index + 1) & mask }
        return index
    }

    private static func known(_ slot: Slot) -> TraceAssembler.Known {
        TraceAssembler.Known(trace: slot.trace, sent: slot.sent)
    }
}
