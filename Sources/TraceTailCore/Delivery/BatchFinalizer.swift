import Synchronization

/// What became of a batch: at one output, and — the worst over every output — for its input.
public enum BatchStatus: UInt8, Sendable, Comparable {
    /// Accepted by the destination (or stored on disk for it, with `buffer: disk`).
    case delivered
    /// Failed for good and written, with the reason, to the output's dead-letter file.
    case deadLettered
    /// Neither: shutdown cut its delivery short, or its dead letter could not be written. Not acknowledged, so a
    /// durable input reads it again after a restart.
    case abandoned

    public static func < (left: BatchStatus, right: BatchStatus) -> Bool { left.rawValue < right.rawValue }

    /// Whether the input may commit the batch (it will never need to be read again).
    public var isSettled: Bool { self != .abandoned }
}

/// Whoever emitted batches and is told what became of each: an input, or a disk buffer's reader.
public protocol AcknowledgementReceiver: Sendable {
    /// Called once per batch, after every output settled it (or gave it up), with the worst status among them.
    func acknowledge(_ token: AckToken, status: BatchStatus)
}

/// The acknowledgement of one batch on its way through the outputs: the runtime makes one per batch, and hands each
/// output the batch carrying its own `BatchFinalizer`. When the last output has settled, the receiver learns the
/// batch's status.
public final class BatchAcknowledgement: Sendable {
    private let token: AckToken
    private let receiver: any AcknowledgementReceiver
    private let remaining: StatusCountdown
    private let settledRecords: MetricCounter?

    /// - Parameters:
    ///   - outputs: how many outputs must settle the batch.
    ///   - settledRecords: counts the batch's records once every output settled it (not when abandoned).
    public init(token: AckToken, outputs: Int, receiver: any AcknowledgementReceiver, settledRecords: MetricCounter? = nil) {
        self.token = token
        self.receiver = receiver
        remaining = StatusCountdown(outputs)
        self.settledRecords = settledRecords
    }

    /// The finalizer one output settles the batch through; `delivered` and `deadLettered` count its records there.
    public func finalizer(records: Int, delivered: MetricCounter? = nil, deadLettered: MetricCounter? = nil) -> BatchFinalizer {
        BatchFinalizer(acknowledgement: self, records: records, delivered: delivered, deadLettered: deadLettered)
    }

    fileprivate func settle(_ status: BatchStatus, records: Int) {
        guard let status = remaining.settle(status) else { return }
        if status.isSettled { settledRecords?.increment(by: records) }
        receiver.acknowledge(token, status: status)
    }
}

/// Settlements counted down to the last, keeping the worst status: the one who settles the last learns the status
/// of them all.
struct StatusCountdown: ~Copyable, Sendable {
    private let remaining: Atomic<Int>
    private let worst = Atomic<UInt8>(BatchStatus.delivered.rawValue)

    init(_ count: Int) { remaining = Atomic(count) }

    /// Settles `count` with `status`: the worst status of all when these were the last, else nil.
    func settle(_ status: BatchStatus, count: Int = 1) -> BatchStatus? {
        worst.max(status.rawValue, ordering: .relaxed)
        guard remaining.subtract(count, ordering: .acquiringAndReleasing).newValue == 0 else { return nil }
        return BatchStatus(rawValue: worst.load(ordering: .acquiring))!
    }

    /// Whether settlements are still missing.
    var isOutstanding: Bool { remaining.load(ordering: .acquiring) > 0 }
}

/// One output's part in a batch's acknowledgement, carried by the batch (`RecordBatch.finalizer`). The output
/// settles it once, when the batch was delivered or dead-lettered; a later settle changes nothing. A finalizer that
/// goes away unsettled — the batch was dropped at shutdown — settles as `abandoned`, so no batch is acknowledged by
/// being forgotten.
public final class BatchFinalizer: Sendable {
    private let acknowledgement: BatchAcknowledgement
    private let records: Int
    private let delivered: MetricCounter?
    private let deadLettered: MetricCounter?
    private let settled = Atomic<Bool>(false)

    fileprivate init(acknowledgement: BatchAcknowledgement, records: Int, delivered: MetricCounter?, deadLettered: MetricCounter?) {
        self.acknowledgement = acknowledgement
        self.records = records
        self.delivered = delivered
        self.deadLettered = deadLettered
    }

    deinit {
        if !settled.load(ordering: .acquiring) { acknowledgement.settle(.abandoned, records: records) }
    }

    /// Settles the batch at this output; only the first call counts.
    public func settle(_ status: BatchStatus) {
        guard settled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        switch status {
        case .delivered: delivered?.increment(by: records)
        case .deadLettered: deadLettered?.increment(by: records)
        case .abandoned: break
        }
        acknowledgement.settle(status, records: records)
    }
}
