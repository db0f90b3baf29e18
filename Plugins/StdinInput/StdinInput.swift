import TraceTailCore

/// Reads lines from standard input until it ends; each read becomes one batch.
public struct StdinInput: Input {
    public struct Configuration: Decodable, Sendable {
        public var maxLineBytes = ByteSize.mebibytes(1)

        enum CodingKeys: String, CodingKey {
            case maxLineBytes = "max_line_bytes"
        }

        public init() {}

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            try container.decode(.maxLineBytes, into: &maxLineBytes)
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
    ]

    let configuration: Configuration
    let acknowledged: MetricCounter
    let truncated: MetricCounter

    public init(configuration: Configuration, context: PluginContext) {
        self.configuration = configuration
        acknowledged = context.metrics.counter("batches_acknowledged_total")
        truncated = context.metrics.counter("lines_truncated_total")
    }

    public func run(emitter: BatchEmitter) async throws {
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
                try await emitter.emit(batch)
                sequence += 1
            }
            if case .endOfFile = chunk { return }
        }
    }

    /// Standard input cannot be re-read, so an acknowledgement is only counted.
    public func acknowledge(_ token: AckToken) {
        acknowledged.increment()
    }
}
