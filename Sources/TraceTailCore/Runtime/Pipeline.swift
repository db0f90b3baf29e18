import Logging
import ServiceLifecycle

/// One running pipeline: input → bounded queue → parsers → a bounded queue per output → outputs.
///
/// A batch is acknowledged to its input only when every output has accepted it or dead-lettered it. On graceful
/// shutdown the input is cancelled, the queues drain and every output is flushed; if the service group's grace
/// period runs out first, the remaining work is cancelled and stays unacknowledged (a file input re-reads it).
/// Either way the final writes (the input's `finish`, a disk buffer's `close`) then run to their end, bounded by
/// `finalWriteLimit`; one that fails makes the pipeline fail.
public final class Pipeline: Service {
    /// How long the final writes at shutdown may take; the shutdown watchdog exits 5 s after the grace period.
    public static let finalWriteLimit: Duration = .seconds(3)

    public let spec: PipelineSpec
    public let counters: PipelineCounters
    let input: any Input
    let parsers: [any Parser]
    let outputs: [(plugin: any Output, context: PluginContext)]
    let logger: Logger
    let dataDirectory: String
    let health: Health?
    /// `stop()`: end the input as a graceful shutdown would, for this pipeline only (a reload).
    private let stopping = StopSignal()

    /// Instantiates the pipeline's plugins; throws the first plugin that cannot start, naming it.
    public init(spec: PipelineSpec, dataDirectory: String, logger: Logger, once: Bool = false, health: Health? = nil) throws {
        let pipelineDirectory = dataDirectory + "/" + spec.name
        self.spec = spec
        self.dataDirectory = pipelineDirectory
        var logger = logger
        logger[metadataKey: "pipeline"] = "\(spec.name)"
        self.logger = logger
        counters = PipelineCounters(pipeline: spec.name)
        self.health = health
        health?.pipeline(spec.name, .starting)
        func context(_ stageName: String, _ kind: String) -> PluginContext {
            PluginContext(pipeline: spec.name, stageName: stageName, kind: kind, logger: logger,
                          dataDirectory: pipelineDirectory, once: once,
                          health: health?.stage(pipeline: spec.name, stage: stageName) ?? .detached)
        }
        func make<Instance>(_ plugin: ConfiguredPlugin<Instance>) throws -> (Instance, PluginContext) {
            let pluginContext = context(plugin.stageName, plugin.kind)
            do {
                return (try plugin.instantiate(pluginContext), pluginContext)
            } catch {
                throw PipelineError(pipeline: spec.name,
                                    message: "\(plugin.stageName) (\(plugin.kind), \(plugin.location)) cannot start: \(error)")
            }
        }
        input = try make(spec.input).0
        parsers = try spec.parsers.map { try make($0).0 }
        outputs = try spec.outputs.map { try make($0) }
    }

    /// A batch on its way to one output, with the acknowledgement it shares with the other outputs.
    struct Delivery: Sendable {
        var batch: RecordBatch
        var pending: PendingAcknowledgement
    }

    /// Runs until the input ends and everything is delivered, or until shutdown. Throws when a stage failed.
    public func run() async throws {
        health?.pipeline(spec.name, .running)
        let queueBounds = spec.queue
        let parseQueue = BoundedQueue<RecordBatch>(maxElements: queueBounds.maxBatches, maxBytes: queueBounds.maxBytes.bytes)
        let outputQueues = outputs.map { _ in
            BoundedQueue<Delivery>(maxElements: queueBounds.maxBatches, maxBytes: queueBounds.maxBytes.bytes)
        }
        var failures = await withTaskGroup(of: PipelineError?.self) { group in
            group.addTask { await self.runInput(into: parseQueue) }
            group.addTask { await self.runParsers(from: parseQueue, to: outputQueues) }
            for (index, queue) in outputQueues.enumerated() {
                group.addTask { await self.runOutput(index, from: queue) }
            }
            var failures: [PipelineError] = []
            for await case let failure? in group { failures.append(failure) }
            return failures
        }
        do {
            try await FinalWrite.run(within: Self.finalWriteLimit) { [input] in try await input.finish() }
        } catch {
            logger.error("the input cannot save its final state", metadata: ["error": "\(error)"])
            failures.append(PipelineError(pipeline: spec.name, message: "input (\(spec.input.kind)) cannot save its final state: \(error)"))
        }
        logger.info("pipeline stopped", metadata: counters.summary)
        health?.pipeline(spec.name, failures.isEmpty ? .stopped : .failed)
        if let failure = failures.first { throw failure }
    }

    /// Stops the input; what it emitted drains and is delivered, then `run` returns.
    public func stop() { stopping.stop() }

    private func runInput(into queue: BoundedQueue<RecordBatch>) async -> PipelineError? {
        defer { queue.finish() }
        let emitter = BatchEmitter(queue: queue, recordsIn: counters.recordsIn, bytesIn: counters.bytesIn)
        do {
            try await cancelWhenGracefulShutdown { [input, stopping] in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await input.run(emitter: emitter) }
                    group.addTask {
                        await stopping.wait()
                        throw CancellationError()
                    }
                    defer { group.cancelAll() }
                    try await group.next()
                }
            }
            return nil
        } catch is CancellationError {
            return nil
        } catch is BoundedQueue<RecordBatch>.Closed {
            return nil
        } catch {
            if Task.isCancelled { return nil }
            logger.error("input failed", metadata: ["error": "\(error)"])
            return PipelineError(pipeline: spec.name, message: "input (\(spec.input.kind)) failed: \(error)")
        }
    }

    private func runParsers(from queue: BoundedQueue<RecordBatch>, to outputQueues: [BoundedQueue<Delivery>]) async -> PipelineError? {
        defer { outputQueues.forEach { $0.finish() } }
        while var batch = await queue.pop() {
            if !batch.arrivedAsSpans {
                for parser in parsers { parser.parse(&batch) }
            }
            SpanDefaults.apply(to: &batch)
            let token = batch.ack
            let records = batch.records.count
            let acknowledge: @Sendable () -> Void = { [input, counters] in
                counters.recordsSettled.increment(by: records)
                input.acknowledge(token)
            }
            guard records > 0 else {
                acknowledge()
                continue
            }
            let pending = PendingAcknowledgement(outputs: outputQueues.count, onSettled: acknowledge)
            for outputQueue in outputQueues {
                do {
                    try await outputQueue.push(Delivery(batch: batch, pending: pending), weight: batch.weight)
                } catch {
                    return nil // cancelled: what is left stays unacknowledged
                }
            }
        }
        return nil
    }

    /// Hands one output the batches of its queue (through its disk buffer, with `buffer: disk`), then flushes it.
    private func runOutput(_ index: Int, from queue: BoundedQueue<Delivery>) async -> PipelineError? {
        let (output, context) = outputs[index]
        let sender = OutputSender(output: output, context: context, counters: counters, dataDirectory: dataDirectory)
        var failure: PipelineError?
        var buffered: DiskQueue?
        if let buffer = spec.outputs[index].buffer {
            let disk: DiskQueue
            do {
                let name = context.stageName.map { $0.isLetter || $0.isNumber ? $0 : "-" }
                disk = try DiskQueue(directory: dataDirectory + "/\(String(name))-buffer", settings: buffer.settings,
                                     metrics: context.metrics, writes: context.dataWrites)
            } catch {
                return PipelineError(pipeline: spec.name, message: "\(context.stageName) cannot open its disk buffer: \(error)")
            }
            // Batches are settled once on disk; a second task sends what the disk holds, an earlier run's first.
            failure = await withTaskGroup(of: PipelineError?.self) { group in
                group.addTask {
                    defer { disk.stop() } // what is queued still goes out, then the sender ends
                    while let delivery = await queue.pop() {
                        do {
                            try await disk.appendWaiting(delivery.batch)
                        } catch {
                            return nil // cancelled: unacknowledged, a durable input delivers it again
                        }
                        delivery.pending.settle()
                    }
                    return nil
                }
                group.addTask {
                    var failure: PipelineError?
                    while !Task.isCancelled,
                          let (batch, lease) = await disk.nextBatch(maxEntries: QueueEmitter.maxEntries, maxBytes: QueueEmitter.maxBytes) {
                        failure = await sender.send(batch) { disk.acknowledge(lease) } ?? failure
                    }
                    return failure
                }
                var failure: PipelineError?
                for await case let problem? in group { failure = problem }
                return failure
            }
            buffered = disk
        } else {
            while !Task.isCancelled, let delivery = await queue.pop() {
                failure = await sender.send(delivery.batch) { delivery.pending.settle() } ?? failure
            }
        }
        if !Task.isCancelled {
            do {
                try await output.flush()
            } catch {
                context.logger.error("flush failed", metadata: ["error": "\(error)"])
                failure = PipelineError(pipeline: spec.name, message: "\(context.stageName) flush failed: \(error)")
            }
        }
        if let buffered {
            // After the flush: its acknowledgements are in the position written.
            do {
                try await FinalWrite.run(within: Self.finalWriteLimit) { try await buffered.close() }
            } catch {
                context.logger.error("cannot write the disk buffer's final state", metadata: ["error": "\(error)"])
                return PipelineError(pipeline: spec.name, message: "\(context.stageName) cannot write its disk buffer's final state: \(error)")
            }
        }
        return failure
    }
}

/// Sends batches to one output and settles each once it is delivered or dead-lettered.
struct OutputSender: Sendable {
    let output: any Output
    let context: PluginContext
    let counters: PipelineCounters
    let delivered: MetricCounter
    let deadLettered: MetricCounter
    let deadLetters: DeadLetterFile

    init(output: any Output, context: PluginContext, counters: PipelineCounters, dataDirectory: String) {
        self.output = output
        self.context = context
        self.counters = counters
        delivered = context.metrics.counter("records_delivered_total")
        deadLettered = context.metrics.counter("records_dead_lettered_total")
        deadLetters = DeadLetterFile(directory: dataDirectory, name: context.stageName, writes: context.dataWrites)
    }

    /// Sends one batch; `settle` runs once the output accepted it or it was dead-lettered. Returns the failure
    /// when it could be neither (the batch stays unacknowledged).
    func send(_ batch: RecordBatch, settle: @escaping @Sendable () -> Void) async -> PipelineError? {
        let count = batch.records.count
        do {
            try await output.send(batch) { [delivered] in
                delivered.increment(by: count)
                settle()
            }
            return nil
        } catch {
            if Task.isCancelled || error is CancellationError { return nil }
            do {
                try await deadLetters.writeRetrying(batch, output: "\(context.stageName) (\(context.kind))", reason: "\(error)")
                deadLettered.increment(by: count)
                counters.recordsDeadLettered.increment(by: count)
                context.logger.error("batch dead-lettered", metadata: [
                    "records": "\(count)", "error": "\(error)", "file": "\(deadLetters.path)",
                ])
                settle()
                return nil
            } catch let writeError {
                // Cancelled while the dead-letter file could not be written. Not acknowledged: a durable input
                // delivers these records again after a restart.
                counters.recordsUndeliverable.increment(by: count)
                context.logger.critical("batch failed and cannot be dead-lettered; left unacknowledged", metadata: [
                    "error": "\(error)", "dead_letter_error": "\(writeError)",
                ])
                return PipelineError(pipeline: context.pipeline, message: "\(context.stageName) cannot dead-letter: \(writeError)")
            }
        }
    }
}

/// A pipeline that failed, with the reason.
public struct PipelineError: Error, Sendable, CustomStringConvertible {
    public var pipeline: String
    public var message: String
    public var description: String { "pipeline \(pipeline): \(Redactor.shared.redact(message))" }
}

/// Record tallies of one pipeline.
public struct PipelineCounters: Sendable {
    public let recordsIn: MetricCounter
    public let bytesIn: MetricCounter
    /// Records whose batch every output settled (delivered or dead-lettered).
    public let recordsSettled: MetricCounter
    public let recordsDeadLettered: MetricCounter
    /// Records an output failed and that could not be dead-lettered either.
    public let recordsUndeliverable: MetricCounter

    init(pipeline: String) {
        let scope = MetricsScope(pipeline: pipeline, stage: "pipeline", kind: "pipeline")
        recordsIn = scope.counter("records_in_total")
        bytesIn = scope.counter("bytes_in_total")
        recordsSettled = scope.counter("records_settled_total")
        recordsDeadLettered = scope.counter("records_dead_lettered_total")
        recordsUndeliverable = scope.counter("records_undeliverable_total")
    }

    var summary: Logger.Metadata {
        [
            "records_in": "\(recordsIn.value)", "records_settled": "\(recordsSettled.value)",
            "records_dead_lettered": "\(recordsDeadLettered.value)",
            "records_undeliverable": "\(recordsUndeliverable.value)",
        ]
    }
}
