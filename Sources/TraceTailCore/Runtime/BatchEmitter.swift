/// Hands an input's batches to its pipeline, waiting while the pipeline is full.
public struct BatchEmitter: Sendable {
    let queue: BoundedQueue<RecordBatch>
    let recordsIn: MetricCounter
    let bytesIn: MetricCounter

    /// Emits one batch; suspends while the queue is full (backpressure). Empty batches are acknowledged at
    /// once by the caller's contract: emit only batches with records. The batch is consumed: the parsers get the
    /// only reference to it and change its records in place.
    public func emit(_ batch: consuming RecordBatch) async throws {
        precondition(!batch.records.isEmpty, "emit only batches with records")
        let (weight, records, bytes) = (batch.weight, batch.records.count, batch.storage.count)
        try await queue.push(consume batch, weight: weight)
        recordsIn.increment(by: records)
        bytesIn.increment(by: bytes)
    }
}
