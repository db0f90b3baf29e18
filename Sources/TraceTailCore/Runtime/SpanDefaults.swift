/// Completes every record into a valid span after the parsers ran: what no parser set gets a deterministic value.
///
/// Ids come from a hash of the record's source identity (or name, without one) and byte offset, so a line that is re-read after a
/// crash gets the same ids and backends deduplicate it.
public enum SpanDefaults {
    /// The longest span name taken from a raw line.
    public static let maxNameLength = 200

    public static func apply(to batch: inout RecordBatch) {
        batch.storage.withUnsafeBufferPointer { storage in
            for index in batch.records.indices {
                complete(&batch.records[index], raw: storage)
            }
        }
    }

    static func complete(_ record: inout Record, raw storage: UnsafeBufferPointer<UInt8>) {
        if record.traceID == nil || record.spanID == nil {
            let key = positionKey(record.position)
            if record.traceID == nil { record.traceID = TraceID(hashing: key) }
            if record.spanID == nil { record.spanID = SpanID(hashing: key) }
        }
        if record.startTime == nil { record.startTime = record.endTime ?? record.observedTime }
        if record.endTime == nil { record.endTime = record.startTime }
        if record.type == nil { record.type = .span }
        if record.name?.isEmpty ?? true {
            record.name = name(from: storage[record.raw])
        }
    }

    /// The raw line, trimmed and cut to `maxNameLength` bytes (at a character boundary), as a span name.
    static func name(from raw: Slice<UnsafeBufferPointer<UInt8>>) -> String {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) }
        guard let first = raw.firstIndex(where: { !isSpace($0) }), let last = raw.lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        var end = last + 1
        guard end - first > maxNameLength else { return String(decoding: raw[first..<end], as: UTF8.self) }
        end = first + maxNameLength
        while end > first && raw[end] & 0xC0 == 0x80 { end -= 1 } // not inside a character
        return String(decoding: raw[first..<end], as: UTF8.self) + "…"
    }

    /// `identity|offset` (or `|source|offset` for a stream without an identity): unique per record within a
    /// stream, stable across re-reads — also under another path, so a file read again after a rename, or a line
    /// read from a copy-truncate copy, keeps its ids.
    static func positionKey(_ position: SourcePosition) -> [UInt8] {
        Array((position.identity.isEmpty ? "|\(position.source)|" : "\(position.identity)|").utf8)
            + Array(String(position.offsets.lowerBound).utf8)
    }
}
