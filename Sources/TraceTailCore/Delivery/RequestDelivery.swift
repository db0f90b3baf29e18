import Logging
import NIOCore

/// What every HTTP output does with one request's worth of spans: encode, post (with retries), and settle —
/// count spans refused inside an accepted request, send halves when the request is too large, dead-letter (with
/// reason and status) what will never be accepted.
public struct RequestDelivery: Sendable {
    public typealias Encode = @Sendable (RecordSelection) -> (body: ByteBuffer, contentType: String)
    public typealias Inspect = @Sendable (HTTPSender.Reply) -> Verdict?

    let sender: HTTPSender
    let encode: Encode
    let inspect: Inspect
    let budget: RequestBudget?
    let logger: Logger
    let deadLetters: DeadLetterFile
    let destination: String
    let rejected: MetricCounter
    let deadLettered: MetricCounter

    public init(sender: HTTPSender, context: PluginContext, budget: RequestBudget? = nil,
                inspect: @escaping Inspect = { _ in nil }, encode: @escaping Encode) {
        self.sender = sender
        self.encode = encode
        self.inspect = inspect
        self.budget = budget
        logger = context.logger
        deadLetters = DeadLetterFile(directory: context.dataDirectory, name: context.stageName, writes: context.dataWrites)
        destination = "\(context.kind) \(sender.url)"
        rejected = context.metrics.counter("spans_rejected_total")
        deadLettered = context.metrics.counter("spans_dead_lettered_total")
    }

    /// Delivers (or dead-letters) the spans and says which; `abandoned` when cancelled or when the dead letter
    /// could not be written, leaving them unacknowledged.
    public func deliver(_ records: RecordSelection) async -> BatchStatus {
        do {
            try await budget?.acquire()
            let (body, contentType) = encode(records)
            let (verdict, status) = try await sender.post(body, contentType: contentType, inspect: inspect)
            switch verdict {
            case .accepted(let count, let message):
                if count > 0 {
                    rejected.increment(by: count)
                    logger.warning("the endpoint refused spans", metadata: ["rejected": "\(count)", "message": "\(message ?? "")"])
                }
                return .delivered
            case .split(let reason):
                guard records.count > 1 else {
                    return await deadLetter(records.batch, "a single span is too large: \(reason)", status)
                }
                let (head, tail) = records.split(at: records.count / 2)
                let first = await deliver(head)
                guard first.isSettled else { return first }
                return max(first, await deliver(tail))
            case .permanent(let reason), .retry(let reason, _):
                return await deadLetter(records.batch, reason, status)
            }
        } catch {
            return .abandoned
        }
    }

    /// Writes the spans to the dead-letter file, retrying while the disk cannot take them: `deadLettered`, or
    /// `abandoned` when cancelled first or the write fails for another reason (they stay unacknowledged).
    func deadLetter(_ batch: RecordBatch, _ reason: String, _ status: Int?) async -> BatchStatus {
        do {
            try await deadLetters.writeRetrying(batch, output: destination, reason: reason, status: status)
            deadLettered.increment(by: batch.records.count)
            logger.error("spans dead-lettered", metadata: [
                "spans": "\(batch.records.count)", "reason": "\(reason)", "file": "\(deadLetters.path)",
            ])
            return .deadLettered
        } catch {
            logger.critical("spans failed and cannot be dead-lettered; left unacknowledged", metadata: [
                "reason": "\(reason)", "error": "\(error)",
            ])
            return .abandoned
        }
    }
}

extension RecordAccumulator {
    /// The accumulator of an HTTP output: limits from its settings, one request per trace when `quiet` is set
    /// (the trace goes once no span joined it for that long), each chunk handed to `delivery`.
    public convenience init(settings: HTTPSettings, quiet: Duration? = nil, delivery: RequestDelivery) {
        let limits = Limits(maxRecords: settings.batchSpans, maxBytes: settings.batchBytes.bytes,
                            maxWait: settings.batchWait.duration, quiet: quiet, concurrency: settings.concurrency,
                            maxHeld: max(2 * settings.batchBytes.bytes, 8 << 20))
        self.init(limits: limits, byTrace: quiet != nil) { chunk in await delivery.deliver(chunk.records) }
    }
}

/// An output that gathers batches into requests: it takes batches into its accumulator and settles them when
/// their requests went out; at shutdown it sends what it holds.
public protocol GatheringOutput: Output {
    var accumulator: RecordAccumulator { get }
    /// How a request's body is made (for previews).
    var delivery: RequestDelivery { get }
}

extension GatheringOutput {
    public func send(_ batch: RecordBatch) async throws {
        try await accumulator.add(batch)
    }

    public func flush() async throws {
        await accumulator.drain()
    }

    public func previewRequests(_ records: [Record]) -> [RequestPreview] {
        accumulator.requestGroups(records).map { group in
            let (body, contentType) = delivery.encode(RecordSelection(group))
            return RequestPreview(contentType: contentType, body: Array(buffer: body))
        }
    }
}
