import Logging
import ServiceLifecycle

/// One running pipeline: input → bounded queue → parsers → bounded queue → trace assembly (`TraceAssembler`, unless
/// `assembly: { enabled: false }`) → a bounded queue per output → outputs.
///
/// A batch is acknowledged to its input only when every output has accepted or dead-lettered every record of it
/// (assembly may send a batch's records in several output batches). On graceful
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

    /// Runs until the input ends and everything is delivered, or until shutdown. Throws when a stage failed.
    public func run() async throws {
        health?.pipeline(spec.name, .running)
        let queueBounds = spec.queue
        let parseQueue = BoundedQueue<RecordBatch>(maxElements: queueBounds.maxBatches, maxBytes: queueBounds.maxBytes.bytes)
        let outputQueues = outputs.map { _ in
            BoundedQueue<RecordBatch>(maxElements: queueBounds.maxBatches, maxBytes: queueBounds.maxBytes.bytes)
        }
        let fanOut = FanOut(queues: outputQueues, counters: outputs.map { OutputCounters($0.context.metrics) })
        var failures = await withTaskGroup(of: PipelineError?.self) { group in
            group.addTask { await self.runInput(into: parseQueue) }
            if spec.assembly.enabled {
                // Short: assembly is quick, and parsed batches weigh more than their lines (peak memory).
                let assemblyQueue = BoundedQueue<AssemblyInput>(maxElements: min(2, queueBounds.maxBatches),
                                                                maxBytes: queueBounds.maxBytes.bytes)
                group.addTask { await self.runParsers(from: parseQueue, to: .assembly(assemblyQueue), fanOut) }
                group.addTask { await self.runAssembly(from: assemblyQueue, to: fanOut) }
            } else {
                group.addTask { await self.runParsers(from: parseQueue, to: .outputs, fanOut) }
            }
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

    /// Where parsed batches go: to trace assembly, or (with `assembly: { enabled: false }`) to the outputs.
    private enum ParsedDestination {
        case assembly(BoundedQueue<AssemblyInput>)
        case outputs
    }

    /// Parses each batch and hands it on. Batches that arrived as spans skip assembly: they are spans already.
    private func runParsers(from queue: BoundedQueue<RecordBatch>, to destination: ParsedDestination,
                            _ fanOut: FanOut) async -> PipelineError? {
        defer {
            if case .assembly(let assemblyQueue) = destination { assemblyQueue.finish() } else { fanOut.finish() }
        }
        while var batch = await queue.pop() {
            if !batch.arrivedAsSpans {
                for parser in parsers { parser.parse(&batch) }
            }
            do {
                if case .assembly(let assemblyQueue) = destination, !batch.arrivedAsSpans, !batch.records.isEmpty {
                    let weight = batch.weight
                    try await assemblyQueue.push(.batch(consume batch), weight: weight) // unique for the assembler
                } else {
                    let acknowledgement = acknowledgement(of: batch)
                    try await fanOut.deliver(consume batch, acknowledgement: acknowledgement)
                }
            } catch {
                return nil // cancelled: what is left is abandoned, and stays unacknowledged
            }
        }
        return nil
    }

    /// A batch's acknowledgement to the input when it goes to the outputs whole.
    private func acknowledgement(of batch: RecordBatch) -> (BatchAcknowledgement, records: Int) {
        (BatchAcknowledgement(token: batch.ack, outputs: batch.records.isEmpty ? 1 : outputs.count, receiver: input,
                              settledRecords: counters.recordsSettled), batch.records.count)
    }

    /// Trace assembly: joins the parsed batches' records into traces (`TraceAssembler`) and hands the outputs what
    /// is ready. A batch of records from several input batches settles each one's share (`SplitAcknowledgement`).
    /// A ticker wakes it while no batch arrives, so held records go out when their wait runs out; when the parsers
    /// end (the input ended, or shutdown), every held record goes out.
    private func runAssembly(from queue: BoundedQueue<AssemblyInput>, to fanOut: FanOut) async -> PipelineError? {
        defer { fanOut.finish() }
        var assembler = TraceAssembler(settings: spec.assembly,
                                       metrics: MetricsScope(pipeline: spec.name, stage: "assembly", kind: "assembly"))
        let tick = Duration.nanoseconds(Int64(min(max(spec.assembly.waitNanoseconds / 4, 10_000_000), 250_000_000)))
        func deliver(_ assembled: consuming (batch: RecordBatch, shares: AcknowledgementShares)?) async throws {
            guard let (batch, shares) = consume assembled, !batch.records.isEmpty else { return }
            let acknowledgement = (BatchAcknowledgement(token: batch.ack, outputs: outputs.count, receiver: shares),
                                   records: batch.records.count)
            try await fanOut.deliver(consume batch, acknowledgement: acknowledgement)
        }
        return await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: tick)
                    guard queue.depth.elements == 0 else { continue } // a batch on its way wakes it anyway
                    do { try await queue.push(.tick, weight: 0) } catch { return }
                }
            }
            defer { group.cancelAll() }
            do {
                while let item = await queue.pop() {
                    switch consume item { // consumed: the batch's records are then unique, and assembled in place
                    case .batch(var batch):
                        let (token, records) = (batch.ack, batch.records.count)
                        let shares = assembler.assemble(&batch, now: Clock.monotonicNanoseconds) {
                            SplitAcknowledgement(token: token, records: records, receiver: input,
                                                 settledRecords: counters.recordsSettled)
                        }
                        if let shares {
                            try await deliver((consume batch, shares))
                        } else {
                            let acknowledgement = acknowledgement(of: batch)
                            try await fanOut.deliver(consume batch, acknowledgement: acknowledgement)
                        }
                    case .tick:
                        try await deliver(assembler.expire(now: Clock.monotonicNanoseconds))
                    }
                }
                try await deliver(assembler.flush())
            } catch {
                return nil // cancelled: held and undelivered records are abandoned, and stay unacknowledged
            }
            return nil
        }
    }

    /// Hands one output the batches of its queue (through its disk buffer, with `buffer: disk`), then flushes it.
    private func runOutput(_ index: Int, from queue: BoundedQueue<RecordBatch>) async -> PipelineError? {
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
            let counters = OutputCounters(context.metrics)
            // Batches are settled once on disk; a second task sends what the disk holds, an earlier run's first.
            failure = await withTaskGroup(of: PipelineError?.self) { group in
                group.addTask {
                    defer { disk.stop() } // what is queued still goes out, then the sender ends
                    while let batch = await queue.pop() {
                        do {
                            try await disk.appendWaiting(batch)
                        } catch {
                            return nil // cancelled: abandoned, a durable input delivers it again
                        }
                        batch.finalizer?.settle(.delivered)
                    }
                    return nil
                }
                group.addTask {
                    var failure: PipelineError?
                    while !Task.isCancelled,
                          case (var batch, let lease)? = await disk.nextBatch(maxEntries: QueueEmitter.maxEntries,
                                                                              maxBytes: QueueEmitter.maxBytes) {
                        batch.finalizer = BatchAcknowledgement(token: batch.ack, outputs: 1, receiver: LeaseAcknowledgement(queue: disk, lease: lease))
                            .finalizer(records: batch.records.count, delivered: counters.delivered, deadLettered: counters.deadLettered)
                        failure = await sender.send(batch) ?? failure
                    }
                    return failure
                }
                var failure: PipelineError?
                for await case let problem? in group { failure = problem }
                return failure
            }
            buffered = disk
        } else {
            while !Task.isCancelled, let batch = await queue.pop() {
                failure = await sender.send(batch) ?? failure
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

/// What the assembly task is handed: a parsed batch, or a tick of the clock (held records may be due).
enum AssemblyInput: Sendable {
    case batch(RecordBatch)
    case tick
}

/// Hands batches to every output's queue, each carrying its own finalizer of one shared acknowledgement: the
/// receiver learns what became of a batch once every output settled it.
struct FanOut: Sendable {
    let queues: [BoundedQueue<RecordBatch>]
    let counters: [OutputCounters]

    /// Completes the records into spans (`SpanDefaults`) and queues the batch for every output; an empty batch is
    /// settled at once. Throws when cancelled while waiting for room. The batch is consumed, so that the
    /// completion works on records no one else holds (a shared one would copy every record first).
    func deliver(_ batch: consuming RecordBatch, acknowledgement: (BatchAcknowledgement, records: Int)) async throws {
        let (acknowledgement, records) = acknowledgement
        guard records > 0 else {
            acknowledgement.finalizer(records: 0).settle(.delivered)
            return
        }
        SpanDefaults.apply(to: &batch)
        let weight = batch.weight
        for (queue, counter) in zip(queues, counters) {
            var delivery = copy batch // shares the records with the other outputs until one changes them
            delivery.finalizer = acknowledgement.finalizer(records: records, delivered: counter.delivered,
                                                           deadLettered: counter.deadLettered)
            try await queue.push(delivery, weight: weight)
        }
    }

    /// No more batches: the outputs drain their queues and end.
    func finish() { queues.forEach { $0.finish() } }
}

/// What one output counts of the records it settled.
struct OutputCounters: Sendable {
    let delivered: MetricCounter
    let deadLettered: MetricCounter

    init(_ scope: MetricsScope) {
        delivered = scope.counter("records_delivered_total")
        deadLettered = scope.counter("records_dead_lettered_total")
    }
}

/// A batch read from an output's disk buffer, settled by its output: its lease is done, unless it was abandoned
/// (then its entries are handed out again after a restart).
struct LeaseAcknowledgement: AcknowledgementReceiver {
    let queue: DiskQueue
    let lease: DiskQueue.Lease

    func acknowledge(_ token: AckToken, status: BatchStatus) {
        if status.isSettled { queue.acknowledge(lease) }
    }
}

/// Sends batches to one output and dead-letters those it fails for good.
struct OutputSender: Sendable {
    let output: any Output
    let context: PluginContext
    let counters: PipelineCounters
    let deadLetters: DeadLetterFile

    init(output: any Output, context: PluginContext, counters: PipelineCounters, dataDirectory: String) {
        self.output = output
        self.context = context
        self.counters = counters
        deadLetters = DeadLetterFile(directory: dataDirectory, name: context.stageName, writes: context.dataWrites)
    }

    /// Sends one batch; the output settles its finalizer once it accepted the batch. A batch the output failed is
    /// dead-lettered and settled so; when that fails too, it is abandoned and the failure returned.
    func send(_ batch: RecordBatch) async -> PipelineError? {
        let count = batch.records.count
        do {
            try await output.send(batch)
            return nil
        } catch {
            if Task.isCancelled || error is CancellationError { return nil }
            do {
                try await deadLetters.writeRetrying(batch, output: "\(context.stageName) (\(context.kind))", reason: "\(error)")
                counters.recordsDeadLettered.increment(by: count)
                context.logger.error("batch dead-lettered", metadata: [
                    "records": "\(count)", "error": "\(error)", "file": "\(deadLetters.path)",
                ])
                batch.finalizer?.settle(.deadLettered)
                return nil
            } catch let writeError {
                // Abandoned (cancelled while the dead-letter file could not be written): a durable input
                // delivers these records again after a restart.
                counters.recordsUndeliverable.increment(by: count)
                batch.finalizer?.settle(.abandoned)
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
