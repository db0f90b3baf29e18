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
