/// The span ids trace assembly remembers, with what is known of each (`TraceAssembler.Known`): about the last
/// `capacity` to `2 × capacity` ids written, in two generations — the older is forgotten whole when the newer fills.
///
/// Hand-written because it is on the hot path: every record with a span id is looked up in both generations and
/// written here, and most lookups miss (span ids are new). With two `Dictionary`s, SipHash, regrowth and the dropped
/// generation's release cost about 0.5 µs per record — a third of the CPU of an e2e run of 1M JSON lines with span
/// ids (perf, production build). Here a generation is a fixed open-addressing table (linear probing, at most half
/// full) indexed by a multiplicative hash of the id's 64 bits, cleared in place when it becomes the newer again: no
/// allocation after the first. The ids are kept apart from what is known of them, so that a probe walks 8 bytes
/// per slot (both generations' ids: 512 KiB, within a core's L2 cache) and a miss touches nothing else.
struct RecentSpans: Sendable {
    private struct Generation: Sendable {
        /// The span ids' bits by slot; 0 is an empty slot (an all-zero span id means "none" and is never stored).
        var spans: [UInt64]
        /// What is known of the span in the same slot.
        var known: [TraceAssembler.Known]
        var count = 0

        init(slots: Int) {
            spans = Array(repeating: 0, count: slots)
            known = Array(repeating: TraceAssembler.Known(trace: TraceID(high: 0, low: 0), sent: false), count: slots)
        }

        /// The slot holding `span`, or the empty slot where it would go. A table is at most half full, so a probe
        /// sequence always ends.
        func slot(of span: UInt64, shift: UInt64) -> Int {
            spans.withUnsafeBufferPointer { spans in
                let mask = spans.count - 1
                var index = Int(truncatingIfNeeded: (span &* 0x9E37_79B9_7F4A_7C15) >> shift)
                while spans[index] != 0 && spans[index] != span { index = (index + 1) & mask }
                return index
            }
        }

        func lookup(_ span: UInt64, shift: UInt64) -> TraceAssembler.Known? {
            let index = slot(of: span, shift: shift)
            return spans[index] == span ? known[index] : nil
        }

        mutating func clear() {
            spans.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            count = 0
        }
    }

    private var newer: Generation
    private var older: Generation?
    private let capacity: Int
    private let shift: UInt64

    /// - Parameter capacity: ids per generation; each table has the next power of two above twice as many slots.
    init(capacity: Int) {
        self.capacity = capacity
        var bits: UInt64 = 1
        while 1 << bits < 2 * capacity { bits += 1 }
        shift = 64 - bits
        newer = Generation(slots: 1 << bits)
    }

    subscript(span: SpanID) -> TraceAssembler.Known? {
        guard span.value != 0 else { return nil }
        return newer.lookup(span.value, shift: shift) ?? older?.lookup(span.value, shift: shift)
    }

    /// Writes what is known of `span` into the newer generation.
    mutating func set(_ span: SpanID, _ known: TraceAssembler.Known) {
        guard span.value != 0 else { return }
        let index = newer.slot(of: span.value, shift: shift)
        if newer.spans[index] == 0 {
            newer.spans[index] = span.value
            newer.count += 1
        }
        newer.known[index] = known
        guard newer.count >= capacity else { return }
        if var recycled = older {
            older = nil // the table is unique again, so it is cleared in place
            recycled.clear()
            older = newer
            newer = recycled
        } else {
            older = newer
            newer = Generation(slots: newer.spans.count)
        }
    }
}
