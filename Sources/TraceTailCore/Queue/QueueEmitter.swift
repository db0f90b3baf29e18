import Synchronization

/// An input's side of a disk queue: emits what is stored — an earlier run's backlog first — gathering the entries
/// already waiting into one batch (many small webhook requests make few pipeline batches), and acknowledges the
/// batch's lease when the batch is acknowledged. The queue's commit log does the ordering; this only maps a
/// pipeline batch to its lease.
public final class QueueEmitter: AcknowledgementReceiver {
    public let queue: DiskQueue
    /// A batch gathers at most this many entries, and no more once it holds this many bytes (about a file input's
    /// read: batches of 1 MiB drained a queue no faster, and filled the pipeline's queues to twice the peak RSS).
    static let maxEntries = 1000
    static let maxBytes = 256 << 10
    private let leases = Mutex<(last: UInt64, byToken: [UInt64: DiskQueue.Lease])>((0, [:]))

    public init(queue: DiskQueue) {
        self.queue = queue
    }

    /// Emits stored batches until the queue is stopped (or, not `waiting`, until none is left). Each record gets
    /// its queue entry as identity, so that a batch replayed after a restart keeps its span ids.
    public func run(emitter: BatchEmitter, waiting: Bool = true) async throws {
        while case (var batch, let lease)? = await queue.nextBatch(maxEntries: Self.maxEntries, maxBytes: Self.maxBytes,
                                                           waiting: waiting, stamp: true) {
            batch.ack = AckToken(leases.withLock { leases in
                leases.last += 1
                leases.byToken[leases.last] = lease
                return leases.last
            })
            try await emitter.emit(consume batch)
        }
    }

    /// Acknowledges the queue entries of an emitted batch, unless it was abandoned (then they are handed out
    /// again after a restart).
    public func acknowledge(_ token: AckToken, status: BatchStatus) {
        guard let lease = leases.withLock({ $0.byToken.removeValue(forKey: token.sequence) }), status.isSettled else { return }
        queue.acknowledge(lease)
    }

    /// The final sync of the queue, once the pipeline drained (see `DiskQueue.close`).
    public func finish() async throws {
        try await queue.close()
    }
}
