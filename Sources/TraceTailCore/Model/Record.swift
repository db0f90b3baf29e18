/// Where a record came from: enough to acknowledge it and to name it in an error.
public struct SourcePosition: Sendable, Hashable, CustomStringConvertible {
    /// The source, e.g. a file path, `stdin` or a webhook route.
    public var source: String
    /// A stable identity of the stream beyond its name (a file's fingerprint), or empty.
    public var identity: String
    /// The record's byte range within the stream.
    public var offsets: Range<UInt64>

    public init(source: String, identity: String = "", offsets: Range<UInt64>) {
        self.source = source
        self.identity = identity
        self.offsets = offsets
    }

    public var description: String { "\(source) at offset \(offsets.lowerBound)" }
}

/// LangWatch's span type (`langwatch.span.type`).
public enum SpanType: String, ConfigChoice {
    case span, llm, chain, tool, agent, rag, guardrail, evaluation, workflow, component, module, server, client,
         producer, consumer, task, unknown
}

/// A span's outcome.
public enum SpanStatus: Sendable, Equatable {
    case unset
    case ok
    case error(message: String, stacktrace: [String])
}

/// A span's input or output: plain text or a JSON value.
public enum SpanPayload: Sendable, Equatable {
    case text(String)
    case json(JSONValue)
}

/// A timed event within a span (an OTLP span event, e.g. `exception` or `gen_ai.choice`).
public struct SpanEvent: Sendable, Equatable {
    public var name: String
    /// Nanoseconds since the epoch.
    public var time: UInt64
    public var attributes: Attributes

    public init(name: String, time: UInt64, attributes: Attributes = Attributes()) {
        self.name = name
        self.time = time
        self.attributes = attributes
    }
}

/// One log event: the raw bytes it was read from (in its batch's storage), where they came from, and the fields
/// parsers filled. One record becomes one span.
public struct Record: Sendable {
    /// The record's bytes within `RecordBatch.storage`.
    public var raw: Range<Int>
    public var position: SourcePosition
    /// When TraceTail read it, in nanoseconds since the epoch.
    public var observedTime: UInt64

    public var traceID: TraceID?
    public var spanID: SpanID?
    public var parentSpanID: SpanID?
    public var name: String?
    /// The log named the span in a field of its own (`name`), rather than the name being made from a message, an
    /// operation and model, or the raw line: when several lines of one span are merged, such a name wins.
    public var nameIsExplicit = false
    public var type: SpanType?
    /// Nanoseconds since the epoch.
    public var startTime: UInt64?
    public var endTime: UInt64?
    public var status: SpanStatus = .unset
    public var input: SpanPayload?
    public var output: SpanPayload?
    /// The span's cost in USD, when the log states it.
    public var cost: Double?
    /// OpenTelemetry attributes: `gen_ai.*` and everything else the parsers found.
    public var attributes = Attributes()
    /// The span's events, in order (from spans relayed with events).
    public var events: [SpanEvent] = []
    /// Set by a parser that could not parse the record.
    public var parseError: String?
    /// What produced the record (a pod's container), shared by the records of one source; nil when only the
    /// outputs' own resource attributes apply.
    public var resource: Resource?

    public init(raw: Range<Int>, position: SourcePosition, observedTime: UInt64) {
        self.raw = raw
        self.position = position
        self.observedTime = observedTime
    }
}

extension Record {
    /// Folds a later line of the same span into this one: the earliest start, the latest end (a line without an
    /// end ends where it starts), attributes merged with the later value winning, in error when either line is,
    /// the name from the first line unless the later one names the span explicitly, the events of both, and for the other fields the
    /// later value when it has one (ids: the earlier). The raw bytes and position stay those of the first line.
    public mutating func absorb(_ later: Record) {
        let starts = [startTime, later.startTime].compactMap { $0 }
        let ends = [endTime ?? startTime, later.endTime ?? later.startTime].compactMap { $0 }
        startTime = starts.min()
        endTime = ends.max()
        traceID = traceID ?? later.traceID
        parentSpanID = parentSpanID ?? later.parentSpanID
        if let laterName = later.name, name == nil || (later.nameIsExplicit && !nameIsExplicit) {
            name = laterName
            nameIsExplicit = later.nameIsExplicit
        }
        if let laterType = later.type, type == nil || type == .span { type = laterType }
        switch (status, later.status) {
        case (.error, _), (_, .unset): break
        default: status = later.status
        }
        input = later.input ?? input
        output = later.output ?? output
        cost = later.cost ?? cost
        for (key, value) in later.attributes { attributes[key] = value }
        events += later.events
        parseError = parseError ?? later.parseError
    }
}

/// Identifies one batch to the input that emitted it, which is told what became of the batch
/// (`AcknowledgementReceiver`).
public struct AckToken: Sendable, Hashable {
    public var sequence: UInt64
    public init(_ sequence: UInt64) { self.sequence = sequence }
}

/// Records that travel through a pipeline together, with the bytes they were read from.
public struct RecordBatch: Sendable {
    /// The raw bytes of every record, back to back.
    public var storage: [UInt8]
    public var records: [Record]
    /// The input's name for the batch, given back with its acknowledgement.
    public var ack: AckToken
    /// Set by the runtime for each output the batch goes to: the output settles the batch through it (see
    /// `BatchFinalizer`). Copies of the batch made to gather or split records carry none.
    public var finalizer: BatchFinalizer?
    /// The records arrived as spans (a collector or OTLP relay), not as log lines: parsers leave them alone.
    public var arrivedAsSpans = false

    public init(storage: [UInt8] = [], records: [Record] = [], ack: AckToken) {
        self.storage = storage
        self.records = records
        self.ack = ack
    }

    /// A record's raw bytes.
    public func raw(_ record: Record) -> ArraySlice<UInt8> { storage[record.raw] }

    /// A record's raw text (invalid UTF-8 replaced).
    public func rawText(_ record: Record) -> String { String(decoding: storage[record.raw], as: UTF8.self) }

    /// The memory the batch holds, for bounding queues: the raw bytes plus what a parsed record costs besides
    /// (its fields, attributes and their strings: about 1 KiB).
    public var weight: Int { storage.count + records.count * Self.recordOverhead }

    public static let recordOverhead = 1024

    /// Appends a record whose raw bytes are `bytes`.
    public mutating func append<Bytes: Collection<UInt8>>(
        _ bytes: Bytes, position: SourcePosition, observedTime: UInt64
    ) {
        let start = storage.count
        storage.append(contentsOf: bytes)
        records.append(Record(raw: start..<storage.count, position: position, observedTime: observedTime))
    }
}

extension RecordBatch {
    /// Appends another batch's records with their raw bytes.
    public mutating func append(contentsOf other: RecordBatch) {
        let shift = storage.count
        storage.append(contentsOf: other.storage)
        // Not `reserveCapacity(records.count + other.records.count)`: appending many batches, that grows the array
        // by exactly each one, copying every record before each time.
        for var record in other.records {
            record.raw = record.raw.lowerBound + shift..<record.raw.upperBound + shift
            records.append(record)
        }
    }

    /// Some of the records, as a batch of their own with their raw bytes.
    public func subset(_ range: Range<Int>) -> RecordBatch {
        var part = RecordBatch(ack: ack)
        part.arrivedAsSpans = arrivedAsSpans
        part.records.reserveCapacity(range.count)
        for var record in records[range] {
            let start = part.storage.count
            part.storage.append(contentsOf: raw(record))
            record.raw = start..<part.storage.count
            part.records.append(record)
        }
        return part
    }
}
