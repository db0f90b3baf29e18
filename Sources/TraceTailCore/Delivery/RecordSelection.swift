/// Records of one or more batches, referred to where they lie rather than copied: what one request carries.
/// Reading a record through it borrows it; `batch` copies the records out (raw bytes included) for the rare paths
/// that need a batch of their own (dead letters).
public struct RecordSelection: Sendable, Collection {
    /// Consecutive records of one batch.
    public struct Part: Sendable {
        public var batch: RecordBatch
        public var records: Range<Int>
    }

    /// A record's place: its part and its index in that part's batch.
    public struct Index: Comparable, Sendable {
        var part: Int
        var record: Int

        public static func < (lhs: Index, rhs: Index) -> Bool {
            (lhs.part, lhs.record) < (rhs.part, rhs.record)
        }
    }

    public private(set) var parts: [Part] = []
    public private(set) var count = 0

    public init() {}

    /// All of a batch's records.
    public init(_ batch: RecordBatch) {
        append(batch, records: batch.records.indices)
    }

    /// Records that have no batch (previews): their raw bytes are not kept.
    public init(_ records: [Record]) {
        self.init(RecordBatch(records: records.map { record in
            var record = record
            record.raw = 0..<0
            return record
        }, ack: AckToken(0)))
    }

    public mutating func append(_ batch: RecordBatch, records: Range<Int>) {
        guard !records.isEmpty else { return }
        parts.append(Part(batch: batch, records: records))
        count += records.count
    }

    public var startIndex: Index { Index(part: 0, record: parts.first?.records.lowerBound ?? 0) }
    public var endIndex: Index { Index(part: parts.count, record: 0) }
    public var isEmpty: Bool { count == 0 }

    public func index(after position: Index) -> Index {
        let next = position.record + 1
        if next < parts[position.part].records.upperBound { return Index(part: position.part, record: next) }
        let part = position.part + 1
        return Index(part: part, record: part < parts.count ? parts[part].records.lowerBound : 0)
    }

    public subscript(position: Index) -> Record {
        _read { yield parts[position.part].batch.records[position.record] }
    }

    /// Hands every record to `body`, borrowed.
    public func forEach(_ body: (Record) throws -> Void) rethrows {
        for part in parts.indices {
            for index in parts[part].records { try body(parts[part].batch.records[index]) }
        }
    }

    /// The first `count` records and the rest.
    public func split(at count: Int) -> (RecordSelection, RecordSelection) {
        var head = RecordSelection()
        var tail = RecordSelection()
        var left = count
        for part in parts {
            let taken = Swift.min(left, part.records.count)
            head.append(part.batch, records: part.records.lowerBound..<part.records.lowerBound + taken)
            tail.append(part.batch, records: part.records.lowerBound + taken..<part.records.upperBound)
            left -= taken
        }
        return (head, tail)
    }

    /// The records as a batch of their own, with their raw bytes.
    public var batch: RecordBatch {
        var joined = RecordBatch(ack: AckToken(0))
        for part in parts { joined.append(contentsOf: part.batch.subset(part.records)) }
        return joined
    }
}
