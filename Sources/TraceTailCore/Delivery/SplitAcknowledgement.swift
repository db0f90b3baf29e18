/// The acknowledgement of an input batch whose records reach the outputs in several output batches: trace assembly
/// holds some records back for later batches and merges others into one span. Each output batch settles the share
/// of records it carried (`AcknowledgementShares`); once every record of the batch was settled, its input learns the
/// worst status among them — exactly once.
///
/// One that goes away with records unsettled (held records dropped at shutdown) tells its input `abandoned`, so no
/// batch is acknowledged by being forgotten.
public final class SplitAcknowledgement: Sendable {
    private let token: AckToken
    private let receiver: any AcknowledgementReceiver
    private let records: Int
    /// Records not settled yet; the input is told when this reaches 0.
    private let remaining: StatusCountdown
    private let settledRecords: MetricCounter?

    /// - Parameters:
    ///   - records: how many records of the batch must be settled (at least 1).
    ///   - settledRecords: counts the batch's records once all were settled (not when abandoned).
    public init(token: AckToken, records: Int, receiver: any AcknowledgementReceiver, settledRecords: MetricCounter? = nil) {
        self.token = token
        self.receiver = receiver
        self.records = records
        remaining = StatusCountdown(records)
        self.settledRecords = settledRecords
    }

    deinit {
        if remaining.isOutstanding { receiver.acknowledge(token, status: .abandoned) }
    }

    /// Settles `count` of the batch's records with `status`.
    public func settle(records count: Int, status: BatchStatus) {
        guard let status = remaining.settle(status, count: count) else { return }
        if status.isSettled { settledRecords?.increment(by: records) }
        receiver.acknowledge(token, status: status)
    }
}

/// The records one output batch carries from each input batch: when every output settled the batch, each input
/// batch's share is settled with the batch's status.
public struct AcknowledgementShares: AcknowledgementReceiver {
    public private(set) var shares: [(batch: SplitAcknowledgement, records: Int)] = []

    public init() {}

    /// Adds `records` records of `batch` (merged with the last share when it is the same batch).
    public mutating func add(_ batch: SplitAcknowledgement, records: Int) {
        if let last = shares.last, last.batch === batch {
            shares[shares.count - 1].records += records
        } else {
            shares.append((batch, records))
        }
    }

    public mutating func add(_ other: AcknowledgementShares) {
        for share in other.shares { add(share.batch, records: share.records) }
    }

    public func acknowledge(_ token: AckToken, status: BatchStatus) {
        for share in shares { share.batch.settle(records: share.records, status: status) }
    }
}
