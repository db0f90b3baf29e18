/// Writes batches that an output failed for good to an NDJSON file, one record a line with the reason, so that
/// nothing is dropped silently.
public struct DeadLetterFile: Sendable {
    public let path: String

    public init(directory: String, name: String) {
        path = directory + "/dead-letter-\(name).ndjson"
    }

    /// Appends every record of the batch.
    public func write(_ batch: RecordBatch, output: String, reason: String, status: Int? = nil) throws {
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
        try FileSystem.append(writer.bytes, to: path)
    }
}
