import Synchronization
import TraceTailCore

/// An input that emits a fixed number of batches of numbered records, then either ends or stays open until
/// cancelled; it records what it emitted and what was acknowledged.
public final class ScriptedInput: Input {
    public struct Configuration: Decodable, Sendable {
        public var batches: Int
        public var recordsPerBatch: Int
        public var recordBytes: Int
        public var holdOpen: Bool

        public init(batches: Int, recordsPerBatch: Int = 10, recordBytes: Int = 100, holdOpen: Bool = false) {
            self.batches = batches
            self.recordsPerBatch = recordsPerBatch
            self.recordBytes = recordBytes
            self.holdOpen = holdOpen
        }
    }

    public static let kind = "scripted"
    public static let summary = "Test input."
    public static let options: [PluginOption] = []

    struct State {
        var emitted = 0
        var acknowledged: [AckToken] = []
        var maxInFlight = 0
    }

    public let configuration: Configuration
    private let state = Mutex(State())

    public init(configuration: Configuration, context: PluginContext) {
        self.configuration = configuration
    }

    public convenience init(_ configuration: Configuration) {
        self.init(configuration: configuration, context: PluginContext.forTests())
    }

    public var emitted: Int { state.withLock { $0.emitted } }
    public var acknowledged: [AckToken] { state.withLock { $0.acknowledged } }
    /// The most batches ever emitted and not yet acknowledged.
    public var maxInFlight: Int { state.withLock { $0.maxInFlight } }

    public func run(emitter: BatchEmitter) async throws {
        for sequence in 0..<configuration.batches {
            var batch = RecordBatch(ack: AckToken(UInt64(sequence)))
            for index in 0..<configuration.recordsPerBatch {
                let number = sequence * configuration.recordsPerBatch + index
                var text = Array("record \(number) ".utf8)
                text += [UInt8](repeating: UInt8(ascii: "x"), count: max(0, configuration.recordBytes - text.count))
                batch.append(text, position: SourcePosition(source: "scripted", offsets: UInt64(number)..<UInt64(number + 1)),
                             observedTime: 1_767_225_600_000_000_000)
            }
            try await emitter.emit(batch)
            state.withLock { state in
                state.emitted += 1
                state.maxInFlight = max(state.maxInFlight, state.emitted - state.acknowledged.count)
            }
        }
        if configuration.holdOpen {
            while true { try await Task.sleep(for: .seconds(3600)) }
        }
    }

    /// Records the batches acknowledged (delivered or dead-lettered; an abandoned one is not).
    public func acknowledge(_ token: AckToken, status: BatchStatus) {
        guard status.isSettled else { return }
        state.withLock { $0.acknowledged.append(token) }
    }
}

/// An output that records every batch it accepts; it can wait on a gate, take time, or fail.
public final class RecordingOutput: DirectOutput {
    public struct Configuration: Decodable, Sendable {
        public var delay: Duration
        public var fails: Bool
        public var gated: Bool

        public init(delay: Duration = .zero, fails: Bool = false, gated: Bool = false) {
            self.delay = delay
            self.fails = fails
            self.gated = gated
        }

        public init(from decoder: any Decoder) throws {
            self.init()
        }
    }

    public struct Refused: Error, CustomStringConvertible {
        public var description: String { "the test output refuses every batch" }
    }

    public static let kind = "recording"
    public static let summary = "Test output."
    public static let options: [PluginOption] = []

    struct State {
        var batches: [RecordBatch] = []
        var open = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var flushed = false
    }

    public let configuration: Configuration
    private let state = Mutex(State())

    public init(configuration: Configuration, context: PluginContext) {
        self.configuration = configuration
    }

    public convenience init(_ configuration: Configuration = Configuration()) {
        self.init(configuration: configuration, context: PluginContext.forTests())
    }

    public var batches: [RecordBatch] { state.withLock { $0.batches } }
    public var records: Int { batches.reduce(0) { $0 + $1.records.count } }
    public var flushed: Bool { state.withLock { $0.flushed } }

    /// Lets every waiting and future `send` through.
    public func openGate() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }

    public func deliver(_ batch: RecordBatch) async throws {
        if configuration.gated {
            await withCheckedContinuation { continuation in
                let open = state.withLock { state in
                    if !state.open { state.waiters.append(continuation) }
                    return state.open
                }
                if open { continuation.resume() }
            }
        }
        if configuration.delay > .zero { try await Task.sleep(for: configuration.delay) }
        if configuration.fails { throw Refused() }
        state.withLock { $0.batches.append(batch) }
    }

    public func flush() async throws {
        state.withLock { $0.flushed = true }
    }
}

extension PluginContext {
    /// A context for plugins built directly in tests.
    public static func forTests(dataDirectory: String = "/tmp/tracetail-tests") -> PluginContext {
        PluginContext(pipeline: "test", stageName: "test", kind: "test", logger: .init(label: "test"), dataDirectory: dataDirectory)
    }
}

extension PipelineSpec {
    /// A pipeline of ready-made plugin instances.
    public static func forTests(
        name: String = "test", input: any Input, parsers: [any Parser] = [], outputs: [any Output],
        queue: QueueSettings = QueueSettings()
    ) -> PipelineSpec {
        let location = SourceLocation(file: "test", line: 1, column: 1)
        return PipelineSpec(
            name: name, location: location,
            input: ConfiguredPlugin(kind: "input", stageName: "input", location: location) { _ in input },
            parsers: parsers.enumerated().map { index, parser in
                ConfiguredPlugin(kind: "parser", stageName: "parsers[\(index)]", location: location) { _ in parser }
            },
            outputs: outputs.enumerated().map { index, output in
                ConfiguredPlugin(kind: "output", stageName: "outputs[\(index)]", location: location) { _ in output }
            },
            queue: queue)
    }
}

/// A fresh, empty directory under /tmp for one test.
public func temporaryDirectory(_ name: String = #function) -> String {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let path = "/tmp/tracetail-tests/\(safe)-\(UInt64.random(in: 0...UInt64.max))"
    try? FileSystem.createDirectory(path)
    return path
}
