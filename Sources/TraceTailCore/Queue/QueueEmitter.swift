import Synchronization

/// An input's side of a disk queue: emits what is stored — an earlier run's backlog first — gathering the entries
/// already waiting into one batch (many small webhook requests make few pipeline batches), and acknowledges every
/// entry of a batch when the batch is acknowledged.
public final class QueueEmitter: AcknowledgementReceiver {
    public let queue: DiskQueue
    /// A batch gathers entries until it holds this many records or bytes.
    static let maxRecords = 1000
    static let maxBytes = 1 << 20
    private let inFlight = Mutex<(last: UInt64, entries: [UInt64: [UInt64]])>((0, [:]))

    public init(queue: DiskQueue) {
        self.queue = queue
    }

    /// Emits stored batches until the queue is stopped (or, not `waiting`, until none is left). Each record gets
    /// its queue entry as identity, so that a batch replayed after a restart keeps its span ids.
    public func run(emitter: BatchEmitter, waiting: Bool = true) async throws {
        while var batch = await queue.nextBatch(waiting: waiting) {
            var sequences = [batch.ack.sequence]
            stamp(&batch)
            while batch.records.count < Self.maxRecords, batch.storage.count < Self.maxBytes,
                  var more = await queue.nextBatch(waiting: false) {
                sequences.append(more.ack.sequence)
                stamp(&more)
                batch.append(contentsOf: more)
            }
            batch.ack = AckToken(inFlight.withLock { state in
                state.last += 1
                state.entries[state.last] = sequences
                return state.last
            })
            try await emitter.emit(batch)
        }
    }

    /// Acknowledges the queue entries of an emitted batch, unless it was abandoned (then they are handed out
    /// again after a restart).
    public func acknowledge(_ token: AckToken, status: BatchStatus) {
        let entries = inFlight.withLock { $0.entries.removeValue(forKey: token.sequence) } ?? []
        guard status.isSettled else { return }
        for sequence in entries { queue.acknowledge(sequence) }
    }

    private func stamp(_ batch: inout RecordBatch) {
        let entry = "\(queue.identity)/\(batch.ack.sequence)"
        for index in batch.records.indices { batch.records[index].position.identity = entry }
    }
}
