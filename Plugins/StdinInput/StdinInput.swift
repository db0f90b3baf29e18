import TraceTailCore

/// Reads lines from standard input until it ends; each read becomes one batch. With `buffer: disk` the lines go
/// through a disk queue first: what was read survives a crash or an outage and is delivered after a restart.
public struct StdinInput: Input {
    public struct Configuration: Decodable, Sendable {
        public var maxLineBytes = ByteSize.mebibytes(1)
        public var buffer = BufferConfiguration()

        enum CodingKeys: String, CodingKey {
            case maxLineBytes = "max_line_bytes"
            case buffer
        }

        public init() {}

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            try container.decode(.maxLineBytes, into: &maxLineBytes)
            try container.decode(.buffer, into: &buffer)
            guard maxLineBytes.bytes > 0 else {
                throw DecodingError.dataCorruptedError(forKey: .maxLineBytes, in: container,
                                                       debugDescription: "max_line_bytes must be greater than zero")
            }
        }
    }

    public static let kind = "stdin"
    public static let summary = "Lines from standard input; the pipeline drains and ends when the input ends."
    public static let options = [
        PluginOption("max_line_bytes", "size", default: "1MiB",
                     "Longer lines are cut there and marked with the attribute tracetail.truncated."),
        BufferConfiguration.option,
    ]

    let configuration: Configuration
    let acknowledged: MetricCounter
    let truncated: MetricCounter
    /// With `buffer: disk`.
    let stored: QueueEmitter?

    public init(configuration: Configuration, context: PluginContext) throws {
        self.configuration = configuration
        acknowledged = context.metrics.counter("batches_acknowledged_total")
        truncated = context.metrics.counter("lines_truncated_total")
        stored = try configuration.buffer.diskQueue.map {
            QueueEmitter(queue: try DiskQueue(directory: context.dataDirectory + "/stdin-queue", settings: $0.settings,
                                              metrics: context.metrics, writes: context.dataWrites))
        }
    }

    public func run(emitter: BatchEmitter) async throws {
        guard let stored else { return try await read { try await emitter.emit($0) } }
        let queue = stored.queue
        // Read into the queue while emitting from it; replayed batches of an earlier run go first.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { queue.stop() } // once read to the end, the emitter drains what is queued and stops
                try await read { try await queue.appendWaiting($0) }
            }
            group.addTask { try await stored.run(emitter: emitter) }
            try await group.waitForAll()
        }
    }

    /// Reads standard input to its end, handing over each read's lines as one batch.
    private func read(_ deliver: (RecordBatch) async throws -> Void) async throws {
        let reader = DescriptorReader(descriptor: 0, name: "stdin")
        var splitter = LineSplitter(source: "stdin", maxLineBytes: configuration.maxLineBytes.bytes)
        var sequence: UInt64 = 0
        while true {
            try Task.checkCancellation()
            var batch = RecordBatch(ack: AckToken(sequence))
            let chunk = try await reader.read()
            let truncatedBefore = splitter.truncatedLines
            switch chunk {
            case .idle:
                continue
            case .data(let count):
                splitter.consume(reader.bytes(count: count), into: &batch, observedTime: Clock.nowNanoseconds)
            case .endOfFile:
                splitter.flushPartial(into: &batch, observedTime: Clock.nowNanoseconds)
            }
            truncated.increment(by: splitter.truncatedLines - truncatedBefore)
            if !batch.records.isEmpty {
                try await deliver(batch)
                sequence += 1
            }
            if case .endOfFile = chunk { return }
        }
    }

    /// Standard input cannot be re-read: without a disk buffer an acknowledgement is only counted.
    public func acknowledge(_ token: AckToken, status: BatchStatus) {
        if status.isSettled { acknowledged.increment() }
        stored?.acknowledge(token, status: status)
    }

    /// Records the disk buffer's position and syncs it, once the pipeline drained.
    public func finish() async throws {
        try await stored?.finish()
    }
}
