import Logging

/// The stage a plugin fills in a pipeline.
public enum Stage: String, Sendable, CaseIterable {
    case input, parser, output

    /// "an input", "a parser", "an output".
    public var withArticle: String { self == .parser ? "a parser" : "an \(rawValue)" }
}

/// One option of a plugin's configuration, for `tracetail plugins` and the README's reference.
public struct PluginOption: Sendable, Hashable {
    public var name: String
    public var type: String
    /// The default as written in YAML, or nil when the option is required.
    public var defaultValue: String?
    public var summary: String

    public init(_ name: String, _ type: String, default defaultValue: String? = nil, _ summary: String) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.summary = summary
    }
}

/// What every plugin type declares: its `type:` name in YAML, its configuration and its documentation.
public protocol Plugin: Sendable {
    /// The configuration, decoded from the plugin's YAML mapping (without its `type` key).
    associatedtype Configuration: Decodable & Sendable
    /// The `type:` that selects this plugin in YAML. Unique across the registry.
    static var kind: String { get }
    /// One line saying what the plugin does.
    static var summary: String { get }
    /// Every configuration key, in the order the reference lists them.
    static var options: [PluginOption] { get }

    init(configuration: Configuration, context: PluginContext) throws
}

/// Produces batches of records. The runtime tells it what became of each batch once every output settled it.
public protocol Input: Plugin, AcknowledgementReceiver {
    /// Reads and emits batches until the source ends (then returns) or the task is cancelled.
    func run(emitter: BatchEmitter) async throws
    /// Called once after the pipeline drained (every acknowledgement that will come has come), e.g. to write
    /// final checkpoints. It runs to its end even when the grace period ran out (it is not cancelled), bounded by
    /// `Pipeline.finalWriteLimit`; throwing (a final save failed) makes the pipeline, and the process, fail.
    func finish() async throws
}

extension Input {
    public func finish() async throws {}
}

/// Transforms batches in place: the hot path, synchronous and allocation-lean.
public protocol Parser: Plugin {
    func parse(_ batch: inout RecordBatch)
}

/// Delivers batches somewhere.
public protocol Output: Plugin {
    /// Takes a batch and settles its `finalizer` once the destination accepted every record of it (or it was
    /// dead-lettered) — before returning, or later for outputs that gather batches into requests. Throwing means
    /// the batch failed for good (the runtime dead-letters it). Cancellation means "not delivered": the batch is
    /// left unsettled (abandoned) and nothing is dead-lettered.
    func send(_ batch: RecordBatch) async throws
    /// Sends whatever is held; called once at shutdown after the last `send`.
    func flush() async throws
    /// What the output would send for these records, without sending it (`tracetail test --format json`).
    func previewRequests(_ records: [Record]) -> [RequestPreview]
}

/// An output that delivers each batch before `deliver` returns.
public protocol DirectOutput: Output {
    /// Returns once the destination accepted the batch; throws when it failed for good.
    func deliver(_ batch: RecordBatch) async throws
}

extension DirectOutput {
    public func send(_ batch: RecordBatch) async throws {
        try await deliver(batch)
        batch.finalizer?.settle(.delivered)
    }
}

extension Output {
    public func flush() async throws {}

    public func previewRequests(_ records: [Record]) -> [RequestPreview] { [] }
}

/// One request (or write) an output would make.
public struct RequestPreview: Sendable {
    public var contentType: String
    public var body: [UInt8]

    public init(contentType: String, body: [UInt8]) {
        self.contentType = contentType
        self.body = body
    }
}

/// What a plugin instance gets from the runtime.
public struct PluginContext: Sendable {
    public var pipeline: String
    /// The plugin's place in the pipeline, e.g. `outputs[1]`.
    public var stageName: String
    public var kind: String
    public var logger: Logger
    /// The pipeline's private directory for checkpoints, dead letters and queues (created on demand).
    public var dataDirectory: String
    public var metrics: MetricsScope
    /// `run --once`: read what is there to its end, wait for delivery, and return (backfill).
    public var once: Bool
    /// Where the stage reports failing deliveries, for `/readyz`.
    public var health: StageHealth
    /// Where the stage's writes into `dataDirectory` (queues, checkpoints, dead letters) report failures: logged
    /// once, counted, and shown on `/readyz` until a write works again.
    public let dataWrites: DataWrites

    public init(
        pipeline: String, stageName: String, kind: String, logger: Logger, dataDirectory: String, once: Bool = false,
        health: StageHealth = .detached
    ) {
        self.once = once
        self.health = health
        self.pipeline = pipeline
        self.stageName = stageName
        self.kind = kind
        var logger = logger
        logger[metadataKey: "pipeline"] = "\(pipeline)"
        logger[metadataKey: "stage"] = "\(stageName)"
        self.logger = logger
        self.dataDirectory = dataDirectory
        metrics = MetricsScope(pipeline: pipeline, stage: stageName, kind: kind)
        dataWrites = DataWrites(logger: self.logger, metrics: metrics, health: health)
    }
}
