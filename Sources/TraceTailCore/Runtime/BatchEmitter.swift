import Synchronization

/// Hands an input's batches to its pipeline, waiting while the pipeline is full.
public struct BatchEmitter: Sendable {
    let queue: BoundedQueue<RecordBatch>
    let recordsIn: MetricCounter
    let bytesIn: MetricCounter

    /// Emits one batch; suspends while the queue is full (backpressure). Empty batches are acknowledged at
    /// once by the caller's contract: emit only batches with records.
    public func emit(_ batch: RecordBatch) async throws {
        precondition(!batch.records.isEmpty, "emit only batches with records")
        try await queue.push(batch, weight: batch.weight)
        recordsIn.increment(by: batch.records.count)
        bytesIn.increment(by: batch.storage.count)
    }
}

/// Counts the outputs still to settle one batch, and acknowledges it to its input when the last one has.
final class PendingAcknowledgement: Sendable {
    private let remaining: Atomic<Int>
    private let settleAll: @Sendable () -> Void

    init(outputs: Int, onSettled: @escaping @Sendable () -> Void) {
        remaining = Atomic(outputs)
        settleAll = onSettled
    }

    /// One output has accepted or dead-lettered the batch.
    func settle() {
        if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { settleAll() }
    }
}

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
