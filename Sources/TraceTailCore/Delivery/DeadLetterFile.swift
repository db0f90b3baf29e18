/// Writes batches that an output failed for good to an NDJSON file, one record a line with the reason, so that
/// nothing is dropped silently. A write that fails (a full disk) leaves nothing of the batch in the file and is
/// reported through `DataWrites`.
public struct DeadLetterFile: Sendable {
    public let path: String
    let writes: DataWrites

    public init(directory: String, name: String, writes: DataWrites) {
        path = directory + "/dead-letter-\(name).ndjson"
        self.writes = writes
    }

    /// Appends every record of the batch, retrying with backoff while the disk cannot take it (the caller waits:
    /// backpressure); throws only when cancelled.
    public func writeRetrying(_ batch: RecordBatch, output: String, reason: String, status: Int? = nil) async throws {
        let bytes = lines(batch, output: output, reason: reason, status: status)
        try await writes.retrying(.deadLetters, needed: bytes.count) { try FileSystem.append(bytes, to: path) }
    }

    /// Appends every record of the batch once.
    public func write(_ batch: RecordBatch, output: String, reason: String, status: Int? = nil) throws(SystemError) {
        let bytes = lines(batch, output: output, reason: reason, status: status)
        try writes.attempt(.deadLetters, needed: bytes.count) { () throws(SystemError) in try FileSystem.append(bytes, to: path) }
    }

    /// One NDJSON line per record.
    private func lines(_ batch: RecordBatch, output: String, reason: String, status: Int?) -> [UInt8] {
        var writer = JSONWriter(capacity: batch.storage.count * 2)
        let now = Clock.nowNanoseconds
        for record in batch.records {
            writer.object { members in
                members.int("time_unix_nano", now)
                members.string("output", output)
                members.string("reason", Redactor.shared.redact(reason))
                if let status { members.int("status", status) }
                if let problem = record.parseError { members.string("parse_error", problem) }
                members.string("source", record.position.source)
                members.int("offset", record.position.offsets.lowerBound)
                if let trace = record.traceID { members.string("trace_id", trace.description) }
                if let span = record.spanID { members.string("span_id", span.description) }
                members.string("raw", batch.rawText(record))
            }
            writer.output.append(UInt8(ascii: "\n"))
        }
        return writer.bytes
    }
}
