/// The mapping step every parser applies after extracting fields: it gives each field its place in the span
/// (canonical fields or OpenTelemetry GenAI attributes) and the type OpenTelemetry requires.
///
/// Parsers call `map(_:_:)` with a closure that adds the fields of one record; the mapper then derives what
/// depends on several fields (end time from a duration, span name and type, a trace id from `trace_id_from`).
public struct FieldMapper: Sendable {
    /// Where a field goes. The tables name attributes (`Target<String>`); the mapper numbers them
    /// (`Target<Int32>`, an index into `attributeNames`) so that its hot path copies no strings.
    enum Target<Name: Sendable & Equatable>: Sendable, Equatable {
        case attribute(Name, Coercion)
        case traceID, spanID, parentSpanID
        case name, message
        case startTime, endTime
        /// A duration in the given number of nanoseconds per unit.
        case duration(UInt64)
        case input, output
        case error, stacktrace
        case cost
        case spanType
        /// A log level: `log.severity_text` and `log.severity_number`, numbers read on the given scale.
        case severity(LogSeverity.Scale)
        /// A source file, `file.go` or `file.go:42`: `code.file.path`, and `code.line.number` after a colon.
        case caller
        /// An exception's type (`exception.type`), when not empty.
        case exceptionType
        /// A thread's number (`thread.id`) or name (`thread.name`).
        case thread
        /// `gen_ai.operation.name` from the values an SDK's response type field takes.
        case operation(OperationValues)

        /// The same target with its attribute name replaced.
        func renamed<Other>(_ rename: (Name) -> Other) -> Target<Other> {
            switch self {
            case .attribute(let name, let coercion): return .attribute(rename(name), coercion)
            case .traceID: return .traceID
            case .spanID: return .spanID
            case .parentSpanID: return .parentSpanID
            case .name: return .name
            case .message: return .message
            case .startTime: return .startTime
            case .endTime: return .endTime
            case .duration(let unit): return .duration(unit)
            case .input: return .input
            case .output: return .output
            case .error: return .error
            case .stacktrace: return .stacktrace
            case .cost: return .cost
            case .spanType: return .spanType
            case .severity(let scale): return .severity(scale)
            case .caller: return .caller
            case .exceptionType: return .exceptionType
            case .thread: return .thread
            case .operation(let values): return .operation(values)
            }
        }
    }

    /// The type an attribute must have.
    enum Coercion: Sendable, Equatable {
        case string, int, double, bool, stringArray, asIs
    }

    /// Top-level fields parsers should hand over whole (as JSON) rather than flattened.
    public static let wholeValueFields = ["input", "inputs", "prompt", "output", "outputs", "completion", "response", "error",
                                          "err", "exception", "labels", "finish_reasons", "stacktrace", "stack"]

    /// The built-in aliases (`AliasTable`), by field name.
    static let aliases: [String: Target<String>] = Dictionary(
        AliasTable.rows.flatMap { row in row.fields.map { ($0, row.target) } }, uniquingKeysWith: { $1 })

    /// The aliases also matched as the last part of a dotted key (`usage.prompt_tokens`).
    static let nestedAliases: [String: Target<String>] = Dictionary(
        AliasTable.rows.filter(\.nested).flatMap { row in row.fields.map { ($0, row.target) } }, uniquingKeysWith: { $1 })

    /// The prefix under which loguru puts the fields bound to a record (`logger.bind(model=…)`): what follows it is
    /// read like a top-level field.
    static let boundFieldsPrefix = "record.extra."

    /// Targets by canonical name: what `map:` may point at, and the types of the GenAI attributes whatever
    /// field name they arrive under.
    static let targets: [String: Target<String>] = {
        var table: [String: Target<String>] = [
            "trace_id": .traceID, "span_id": .spanID, "parent_span_id": .parentSpanID, "parent_id": .parentSpanID,
            "name": .name, "start_time": .startTime, "end_time": .endTime, "duration_ms": .duration(1_000_000),
            "duration_s": .duration(1_000_000_000), "duration_ns": .duration(1),
            "input": .input, "output": .output, "error": .error, "stacktrace": .stacktrace, "cost": .cost,
            "span_type": .spanType, "message": .message,
            "langwatch.span.cost": .cost,
        ]
        let typed: [(Coercion, [String])] = [
            (.string, ["gen_ai.request.model", "gen_ai.response.model", "gen_ai.response.id", "gen_ai.conversation.id",
                       "gen_ai.agent.id", "gen_ai.agent.name", "gen_ai.tool.name", "gen_ai.tool.call.id",
                       "gen_ai.data_source.id", "gen_ai.workflow.name",
                       "gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.output.type",
                       "langwatch.user.id", "langwatch.thread.id", "langwatch.customer.id"]),
            (.double, ["gen_ai.request.temperature", "gen_ai.request.top_p", "gen_ai.request.top_k",
                       "gen_ai.request.frequency_penalty", "gen_ai.request.presence_penalty",
                       "gen_ai.response.time_to_first_chunk"]),
            (.int, ["gen_ai.request.max_tokens", "gen_ai.request.seed", "gen_ai.usage.input_tokens",
                    "gen_ai.usage.output_tokens", "gen_ai.usage.cache_read.input_tokens",
                    "gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.reasoning.output_tokens"]),
            (.stringArray, ["gen_ai.request.stop_sequences", "gen_ai.response.finish_reasons", "langwatch.labels"]),
            (.bool, ["gen_ai.request.stream"]),
        ]
        for (coercion, names) in typed {
            for name in names { table[name] = .attribute(name, coercion) }
        }
        return table
    }()

    /// What the mapper does with one field name.
    struct Resolution: Sendable {
        var target: Target<Int32>?
        var dropped = false
        /// The field `trace_id_from` names.
        var tracesBy = false
        /// What the target tells about the span's type and name (found once here, not looked up per record).
        var marks: Marks = []
    }

    /// Attributes that decide a span's type and name.
    struct Marks: OptionSet, Sendable {
        let rawValue: UInt8
        /// A model or token counts: an `llm` span.
        static let llm = Marks(rawValue: 1)
        /// The operation, which names a span together with its subject (model, tool, agent) and gives its type.
        static let operation = Marks(rawValue: 2)
        /// A tool's name: a `tool` span unless something says otherwise.
        static let tool = Marks(rawValue: 4)
        /// An agent's name: an `agent` span unless something says otherwise.
        static let agent = Marks(rawValue: 8)

        init(rawValue: UInt8) { self.rawValue = rawValue }

        init(_ target: Target<String>?) {
            switch target {
            case .attribute("gen_ai.request.model", _)?, .attribute("gen_ai.usage.input_tokens", _)?,
                 .attribute("gen_ai.usage.output_tokens", _)?: self = .llm
            case .attribute("gen_ai.operation.name", _)?, .operation?, .spanType?: self = .operation
            case .attribute("gen_ai.tool.name", _)?: self = .tool
            case .attribute("gen_ai.agent.name", _)?: self = .agent
            default: self = []
            }
        }
    }

    /// Attributes the mapper derives from fields rather than taking a field's value as it is; numbered first.
    enum Derived: Int32, CaseIterable {
        case severityText, severityNumber, codeFilePath, codeLineNumber, threadID, threadName, operationName, timeUnparsed

        var name: String {
            switch self {
            case .severityText: return "log.severity_text"
            case .severityNumber: return "log.severity_number"
            case .codeFilePath: return "code.file.path"
            case .codeLineNumber: return "code.line.number"
            case .threadID: return "thread.id"
            case .threadName: return "thread.name"
            case .operationName: return "gen_ai.operation.name"
            case .timeUnparsed: return "tracetail.time_unparsed"
            }
        }
    }

    public let settings: ParserSettings
    /// Every field name the mapper knows, resolved once: canonical names, then aliases, then the user's renames,
    /// drops and `trace_id_from`. Anything else becomes an attribute under its own name.
    private let resolutions: ByteKeyTable<Resolution>
    /// The aliases matched as the last part of a dotted key.
    private let nestedResolutions: ByteKeyTable<Resolution>
    /// The attribute names targets point at, `Derived` first.
    private let attributeNames: [String]

    public init(_ settings: ParserSettings) {
        self.settings = settings
        var named: [String: (target: Target<String>?, dropped: Bool, tracesBy: Bool)] =
            Self.targets.mapValues { ($0, false, false) }
        if settings.aliases {
            for (key, target) in Self.aliases { named[key] = (target, false, false) }
        }
        for (key, name) in settings.map {
            named[key] = (Self.targets[name] ?? .attribute(name, .asIs), false, false)
        }
        for key in settings.drop { named[key, default: (nil, false, false)].dropped = true }
        if let key = settings.traceIDFrom { named[key, default: (nil, false, false)].tracesBy = true }

        // A field named like an attribute a target sets is that target too, so that one record never holds the
        // attribute twice (the mapper appends target attributes without searching).
        let setByTargets = named.values.compactMap { entry -> String? in
            if case .attribute(let name, _)? = entry.target { name } else { nil }
        }
        for name in setByTargets + Derived.allCases.map(\.name) where named[name] == nil {
            named[name] = (.attribute(name, .asIs), false, false)
        }

        var names = Derived.allCases.map(\.name)
        var numbers = Dictionary(uniqueKeysWithValues: Derived.allCases.map { ($0.name, $0.rawValue) })
        func resolution(_ target: Target<String>?, dropped: Bool = false, tracesBy: Bool = false) -> Resolution {
            let numbered = target?.renamed { name in
                if let number = numbers[name] { return number }
                names.append(name)
                numbers[name] = Int32(names.count - 1)
                return Int32(names.count - 1)
            }
            return Resolution(target: numbered, dropped: dropped, tracesBy: tracesBy, marks: Marks(target))
        }
        resolutions = ByteKeyTable(named.map { key, entry in
            (key, resolution(entry.target, dropped: entry.dropped, tracesBy: entry.tracesBy))
        })
        nestedResolutions = ByteKeyTable(settings.aliases ? Self.nestedAliases.map { ($0, resolution($1)) } : [])
        attributeNames = names
    }

    /// What mapping one record found that the parser reports.
    public struct Report: Sendable {
        /// The text of a time field that could not be read (the record carries it as `tracetail.time_unparsed`);
        /// the parser counts it.
        public var unreadableTime: String?
    }

    /// Maps the fields `extract` adds to one record.
    @discardableResult
    public func map(_ record: inout Record, _ extract: (inout Fields) throws -> Void) rethrows -> Report {
        try withUnsafePointer(to: self) { mapper in // the mapper is borrowed, not copied, per record
            try withUnsafeMutablePointer(to: &record) { record in
                var fields = Fields(mapper: mapper, record: record)
                try extract(&fields)
                fields.finish()
                return Report(unreadableTime: fields.unreadableTime)
            }
        }
    }

    /// Collects one record's fields for the mapper (only inside `map`).
    public struct Fields {
        let mapper: UnsafePointer<FieldMapper>
        let record: UnsafeMutablePointer<Record>
        var duration: UInt64?
        var message: String?
        var explicitType: SpanType?
        /// What the mapped fields told about the span's type and name.
        var marks: Marks = []
        /// The attributes an earlier stage set (the input, an earlier parser): the record's first ones, which may
        /// decide type and name too. Only these are searched for a key this mapper has not written yet.
        let earlierAttributes: Int
        /// The mapped attributes set so far (by number, below 64), which need no search for an earlier value.
        var attributesSet: UInt64 = 0
        /// The highest severity number a level field gave (0: none).
        var severity: UInt8 = 0
        /// What the error fields told.
        var failure = Failure()
        var unreadableTime: String?

        /// An error as the fields describe it; the status and `exception.*` are derived from it at the end.
        struct Failure {
            /// The error's text (a message, or a whole error as text).
            var text: String?
            /// `error: true`: an error whose message is elsewhere.
            var flagged = false
            var type: String?
            var message: String?
            var stacktrace: [String]?

            var failed: Bool { text != nil || flagged }
        }

        init(mapper: UnsafePointer<FieldMapper>, record: UnsafeMutablePointer<Record>) {
            self.mapper = mapper
            self.record = record
            earlierAttributes = record.pointee.attributes.count
            record.pointee.attributes.reserveCapacity(Attributes.typicalCount)
        }

        /// How a field name resolves: itself, else what follows loguru's `record.extra.`, else the last part of a
        /// dotted key among the nested aliases. Static, on the mapper's pointer: a method call through `pointee`
        /// copies the mapper, and one on `Fields` copies the fields (152 bytes per field read, measured with perf).
        @inline(__always) // once per field: the common case, a name the table holds, without a call
        private static func resolve(_ key: UnsafeRawBufferPointer, _ mapper: UnsafePointer<FieldMapper>) -> Resolution? {
            if let resolution = mapper.pointee.resolutions[key] { return resolution }
            return resolveDotted(key, mapper)
        }

        /// `resolve` for a name the table does not hold.
        private static func resolveDotted(_ key: UnsafeRawBufferPointer, _ mapper: UnsafePointer<FieldMapper>) -> Resolution? {
            guard let dot = key.lastIndex(of: UInt8(ascii: ".")) else { return nil }
            let prefix = FieldMapper.boundFieldsPrefix.utf8.count
            if mapper.pointee.settings.aliases, key.count > prefix, FieldMapper.boundFieldsPrefix.utf8.elementsEqual(key[..<prefix]) {
                return resolve(UnsafeRawBufferPointer(rebasing: key[prefix...]), mapper)
            }
            return mapper.pointee.nestedResolutions[UnsafeRawBufferPointer(rebasing: key[(dot + 1)...])]
        }

        /// Adds one extracted field, borrowed from the line.
        public mutating func add(_ key: UnsafeRawBufferPointer, _ value: RawValue) {
            guard let resolution = Self.resolve(key, mapper) else {
                return Self.keep(key, value, in: record)
            }
            if resolution.dropped { return }
            if resolution.tracesBy, let id = FieldMapper.traceID(value) {
                record.pointee.traceID = id
            }
            guard let target = resolution.target else { return Self.keep(key, value, in: record) }
            guard apply(target, value) else { return Self.keep(key, value, in: record) } // kept as it came when it does not fit
            if !resolution.marks.isEmpty, !value.isNull { marks.formUnion(resolution.marks) }
        }

        /// Adds one extracted field.
        public mutating func add(_ key: String, _ value: FieldValue) {
            var key = key
            key.withUTF8 { name in value.withRawValue { add(UnsafeRawBufferPointer(name), $0) } }
        }

        /// An attribute under the field's own name. (Static, as `resolve` is: the fields are not copied.)
        private static func keep(_ key: UnsafeRawBufferPointer, _ value: RawValue, in record: UnsafeMutablePointer<Record>) {
            if case .null = value { return }
            record.pointee.attributes[String(decoding: key, as: UTF8.self)] = FieldMapper.attribute(value)
        }

        /// Sets a numbered attribute, appending it without a search when no field of this record can have set it.
        @inline(__always) // per attribute: a call costs about as much as the append (callgrind)
        private mutating func set(_ name: Int32, _ value: AttributeValue) {
            let key = mapper.pointee.attributeNames[Int(name)]
            let bit: UInt64 = name < 64 ? 1 << UInt64(name) : 0
            if bit != 0 && attributesSet & bit == 0 {
                record.pointee.attributes.set(key, value, amongFirst: earlierAttributes)
                attributesSet |= bit
            } else {
                record.pointee.attributes[key] = value
            }
        }

        private mutating func set(_ name: Derived, _ value: AttributeValue) {
            set(name.rawValue, value)
        }

        /// Puts a value at its target; false when it does not fit there.
        private mutating func apply(_ target: Target<Int32>, _ value: RawValue) -> Bool {
            if case .null = value { return true }
            switch target {
            case .attribute(let name, let coercion):
                guard let typed = FieldMapper.coerce(value, coercion) else { return false }
                set(name, typed)
            case .traceID:
                guard let id = FieldMapper.traceID(value) else { return false }
                if mapper.pointee.settings.traceIDFrom == nil || record.pointee.traceID == nil { record.pointee.traceID = id }
            case .spanID:
                guard let id = FieldMapper.spanID(value) else { return false }
                record.pointee.spanID = id
            case .parentSpanID:
                guard let id = FieldMapper.spanID(value) else { return false }
                record.pointee.parentSpanID = id
            case .name:
                guard let text = value.materialized().text else { return false }
                record.pointee.name = text
                record.pointee.nameIsExplicit = true
            case .message:
                guard case .string(let text) = value.materialized() else { return false }
                message = text
            case .startTime, .endTime:
                guard let time = TimestampParser.nanoseconds(value) else {
                    // Never replaced silently by the read time: the text stays, marked, and the parser counts it.
                    guard let text = value.materialized().text else { return false }
                    set(.timeUnparsed, .string(text))
                    unreadableTime = text
                    return true
                }
                if target == .startTime { record.pointee.startTime = time } else { record.pointee.endTime = time }
            case .duration(let unit):
                // At most about 31 years: anything longer is no duration of one call.
                guard case .double(let amount)? = FieldMapper.coerce(value, .double), amount >= 0,
                      amount * Double(unit) < 1e18 else { return false }
                duration = UInt64((amount * Double(unit)).rounded())
            case .input:
                record.pointee.input = FieldMapper.payload(value.materialized())
            case .output:
                record.pointee.output = FieldMapper.payload(value.materialized())
            case .error:
                FieldMapper.readError(value.materialized(), into: &failure)
            case .stacktrace:
                let lines = FieldMapper.lines(value.materialized())
                if !lines.isEmpty { failure.stacktrace = lines }
            case .cost:
                guard case .double(let amount)? = FieldMapper.coerce(value, .double) else { return false }
                record.pointee.cost = amount
            case .spanType:
                guard let text = value.materialized().text, let read = SpanType.reading(text) else { return false }
                explicitType = read.type
                if let operation = read.operation { set(.operationName, .string(operation)) }
            case .severity(let scale):
                guard let number = LogSeverity.number(value, scale) else { return false }
                severity = max(severity, number)
                set(.severityText, .string(LogSeverity.text(number)))
                set(.severityNumber, .int(Int64(number)))
            case .caller:
                guard let text = value.bytes, !text.isEmpty else { return false }
                if let colon = text.lastIndex(of: UInt8(ascii: ":")),
                   let line = ByteNumbers.integer(UnsafeRawBufferPointer(rebasing: text[(colon + 1)...])) {
                    set(.codeFilePath, .string(String(decoding: UnsafeRawBufferPointer(rebasing: text[..<colon]), as: UTF8.self)))
                    set(.codeLineNumber, .int(line))
                } else {
                    set(.codeFilePath, .string(String(decoding: text, as: UTF8.self)))
                }
            case .thread:
                if let id = FieldMapper.coerce(value, .int) {
                    set(.threadID, id)
                } else {
                    guard let name = FieldMapper.coerce(value, .string) else { return false }
                    set(.threadName, name)
                }
            case .operation(let values):
                guard let operation = values.operation(value) else { return false }
                set(.operationName, .string(operation))
            case .exceptionType:
                guard let type = value.materialized().text?.trimmingWhitespace() else { return false }
                if !type.isEmpty { failure.type = type }
            }
            return true
        }

        /// Derives what depends on several fields.
        func finish() {
            finish(&record.pointee)
        }

        private func finish(_ record: inout Record) {
            if let duration {
                let start = record.startTime ?? record.observedTime
                record.startTime = start
                let (end, overflow) = start.addingReportingOverflow(duration)
                record.endTime = overflow ? start : end
            }
            // The operation the log names (looked up only when a field may have set it).
            var operation: String?
            let operationValue = marks.contains(.operation) ? record.attributes[GenAIOperation.attribute]
                : record.attributes.value(GenAIOperation.attribute, amongFirst: earlierAttributes)
            if case .string(let named)? = operationValue { operation = named }
            if record.type == nil {
                record.type = mapper.pointee.settings.spanType ?? explicitType ?? inferredType(record, operation)
            }
            // A name of the log's own wins over the one the conventions give: `span_name`, then the message unless
            // the log names the operation (as SDK responses logged whole do).
            let named = operation != nil
            if operation == nil, let derived = GenAIOperation.operation(of: record.type, input: record.input) {
                operation = derived
                if marks.contains(.operation) { // a field may hold it (not as text)
                    record.attributes[GenAIOperation.attribute] = .string(derived)
                } else {
                    record.attributes.set(GenAIOperation.attribute, .string(derived), amongFirst: earlierAttributes)
                }
            }
            if record.name == nil {
                if let operation, named || message == nil {
                    record.name = GenAIOperation.spanName(record.attributes) ?? message ?? operation
                    if let message, record.name != message { record.attributes["message"] = .string(message) }
                } else {
                    record.name = message
                }
            } else if let message {
                record.attributes["message"] = .string(message)
            }
            if failure.failed || failure.stacktrace != nil || severity >= LogSeverity.error {
                describeFailure(&record)
            }
        }

        /// The type the fields tell: that of the operation the log names, else `llm` for a model or token counts,
        /// `tool` for a tool's name, `agent` for an agent's name; nil for none.
        private func inferredType(_ record: Record, _ operation: String?) -> SpanType? {
            if let operation, let type = GenAIOperation.spanType(operation) { return type }
            func earlier(_ key: String) -> Bool { record.attributes.value(key, amongFirst: earlierAttributes) != nil }
            let llm = marks.contains(.llm) || earlier("gen_ai.request.model") || earlier("gen_ai.usage.input_tokens")
                || earlier("gen_ai.usage.output_tokens")
            if llm { return .llm }
            if marks.contains(.tool) || earlier("gen_ai.tool.name") { return .tool }
            if marks.contains(.agent) || earlier("gen_ai.agent.name") { return .agent }
            return nil
        }

        /// `exception.type`, `exception.message` and `exception.stacktrace`, and an error status when an error field
        /// or a level of ERROR or above says so.
        private func describeFailure(_ record: inout Record) {
            let summary = failure.stacktrace.flatMap(ExceptionText.summary)
            let type = failure.type ?? summary?.type
            let detail = failure.message ?? failure.text ?? summary?.message
            if let type, record.attributes["exception.type"] == nil { record.attributes["exception.type"] = .string(type) }
            if let detail, record.attributes["exception.message"] == nil { record.attributes["exception.message"] = .string(detail) }
            if let trace = failure.stacktrace { record.attributes["exception.stacktrace"] = .string(trace.joined(separator: "\n")) }
            guard failure.failed || severity >= LogSeverity.error else { return }
            switch record.status {
            case .error(let message, let trace) where trace.isEmpty:
                record.status = .error(message: message, stacktrace: failure.stacktrace ?? [])
            case .error:
                break
            default:
                let text = failure.text ?? type.map { type in detail.map { "\(type): \($0)" } ?? type }
                record.status = .error(message: text ?? message ?? LogSeverity.text(severity), stacktrace: failure.stacktrace ?? [])
            }
        }
    }

    /// An id from hex text as it is, or hashed from any other value.
    static func traceID(_ value: RawValue) -> TraceID? {
        withIDText(value) { TraceID(hexBytes: $0) ?? TraceID(hashing: $0) }
    }

    static func spanID(_ value: RawValue) -> SpanID? {
        withIDText(value) { SpanID(hexBytes: $0) ?? SpanID(hashing: $0) }
    }

    /// nil for no id: empty, or all zeros (what instrumented apps log outside an active span), which must never be
    /// hashed into one id shared by unrelated records.
    private static func withIDText<ID>(_ value: RawValue, _ body: (UnsafeRawBufferPointer) -> ID) -> ID? {
        func id(_ bytes: UnsafeRawBufferPointer) -> ID? {
            bytes.allSatisfy({ $0 == UInt8(ascii: "0") }) ? nil : body(bytes)
        }
        if let bytes = value.bytes { return id(bytes) }
        guard var text = value.materialized().text else { return nil }
        return text.withUTF8 { id(UnsafeRawBufferPointer($0)) }
    }

    /// An extracted value as an attribute, as it came.
    static func attribute(_ value: RawValue) -> AttributeValue {
        switch value {
        case .text(let bytes): return .string(String(decoding: bytes, as: UTF8.self))
        case .int(let number): return .int(number)
        case .double(let number): return .double(number)
        case .bool(let flag): return .bool(flag)
        default: return attribute(value.materialized())
        }
    }

    static func attribute(_ value: FieldValue) -> AttributeValue {
        switch value {
        case .null: return .string("")
        case .bool(let flag): return .bool(flag)
        case .int(let number): return .int(number)
        case .double(let number): return .double(number)
        case .string(let text): return .string(text)
        case .json(let text):
            guard let parsed = try? JSONReader.parse(Array(text.utf8)) else { return .string(text) }
            return JSONFlattener.attribute(parsed)
        }
    }

    /// The value with the type OpenTelemetry requires, or nil when it cannot be had without loss.
    static func coerce(_ value: RawValue, _ coercion: Coercion) -> AttributeValue? {
        switch (coercion, value) {
        case (.string, .text(let bytes)), (.string, .inferred(let bytes)): return .string(String(decoding: bytes, as: UTF8.self))
        case (.int, .int(let number)): return .int(number)
        case (.int, .text(let bytes)), (.int, .inferred(let bytes)):
            if let number = ByteNumbers.integer(bytes) { return .int(number) }
        case (.double, .double(let number)): return .double(number)
        case (.double, .int(let number)): return .double(Double(number))
        default: break
        }
        return coerce(value.materialized(), coercion)
    }

    static func coerce(_ value: FieldValue, _ coercion: Coercion) -> AttributeValue? {
        switch (coercion, value) {
        case (.asIs, _): return attribute(value)
        case (.string, .string(let text)): return .string(text)
        case (.string, .json): return nil
        case (.string, _): return value.text.map(AttributeValue.string)
        case (.int, .int(let number)): return .int(number)
        case (.int, .double(let number)):
            return number.rounded() == number && abs(number) < 9.2e18 ? .int(Int64(number)) : nil
        case (.int, .string(let text)):
            if let number = Int64(text.trimmingWhitespace()) { return .int(number) }
            return Double(text.trimmingWhitespace()).flatMap { coerce(FieldValue.double($0), .int) }
        case (.double, .double(let number)): return .double(number)
        case (.double, .int(let number)): return .double(Double(number))
        case (.double, .string(let text)): return Double(text.trimmingWhitespace()).map(AttributeValue.double)
        case (.bool, .bool(let flag)): return .bool(flag)
        case (.bool, .string(let text)):
            switch text.lowercased() {
            case "true", "1", "yes": return .bool(true)
            case "false", "0", "no": return .bool(false)
            default: return nil
            }
        case (.bool, .int(let number)) where number == 0 || number == 1: return .bool(number == 1)
        case (.stringArray, .json(let text)):
            guard case .array(let items)? = try? JSONReader.parse(Array(text.utf8)) else { return nil }
            var strings: [AttributeValue] = []
            for item in items {
                switch item {
                case .string(let text): strings.append(.string(text))
                case .int, .double, .bool: strings.append(.string(JSONFlattener.text(item)))
                default: return nil
                }
            }
            return .array(strings)
        case (.stringArray, .string(let text)):
            return .array(text.split(separator: ",").map { .string($0.trimmingWhitespace()) }.filter { $0 != .string("") })
        default: return nil
        }
    }

    /// Text stays text; JSON becomes a JSON value (chat messages, objects), also JSON text of an array or object
    /// in a string (as logfmt and OTLP attributes carry it).
    static func payload(_ value: FieldValue) -> SpanPayload {
        switch value {
        case .json(let text):
            if let parsed = try? JSONReader.parse(Array(text.utf8)) { return .json(parsed) }
        case .string(let text) where text.hasPrefix("[") || text.hasPrefix("{"):
            switch try? JSONReader.parse(Array(text.utf8)) {
            case let parsed? where parsed.items != nil: return .json(parsed)
            case let parsed?: if case .object = parsed { return .json(parsed) }
            case nil: break
            }
        default: break
        }
        return .text(value.text ?? "")
    }

    /// Reads an error field: `""`, `false`, `0`, `[]`, `{}`, `null`, `nil`, `<nil>` and `none` are no error; `true`
    /// (or another number) is an error whose message is elsewhere; text is the error's message (a multi-line text is
    /// its stack trace too); an object gives type, message and stack trace.
    static func readError(_ value: FieldValue, into failure: inout Fields.Failure) {
        switch value {
        case .null: return
        case .bool(let flag): failure.flagged = failure.flagged || flag
        case .int(let number): failure.flagged = failure.flagged || number != 0
        case .double(let number): failure.flagged = failure.flagged || number != 0
        case .string(let text):
            let trimmed = text.trimmingWhitespace()
            guard !["", "false", "0", "null", "nil", "<nil>", "none"].contains(trimmed.lowercased()) else { return }
            if trimmed.contains("\n") {
                let trace = lines(.string(trimmed))
                failure.stacktrace = failure.stacktrace ?? trace
                let summary = ExceptionText.summary(trace)
                failure.type = summary?.type
                failure.message = summary?.message
                failure.text = summary.map { "\($0.type): \($0.message)" } ?? trace[0]
            } else {
                failure.text = trimmed
            }
        case .json(let text):
            guard let parsed = try? JSONReader.parse(Array(text.utf8)) else { return failure.text = text }
            switch parsed {
            case .array(let items) where items.isEmpty: return
            case .object(let members) where members.isEmpty: return
            case .object:
                failure.type = ["type", "name", "kind", "class", "error_class"].lazy.compactMap { parsed[$0]?.text }.first
                failure.message = ["message", "msg", "value", "reason", "error", "error_message"].lazy.compactMap { parsed[$0]?.text }.first
                if let trace = ["stack", "stacktrace", "stack_trace", "traceback"].lazy.compactMap({ parsed[$0] }).first {
                    failure.stacktrace = lines(.json(JSONFlattener.text(trace)))
                }
                failure.text = failure.message ?? text
            default:
                failure.text = text
            }
        }
    }

    /// A stack trace as lines: from a JSON array of strings or from text with newlines.
    static func lines(_ value: FieldValue) -> [String] {
        if case .json(let text) = value, case .array(let items)? = try? JSONReader.parse(Array(text.utf8)) {
            return items.map { if case .string(let line) = $0 { line } else { JSONFlattener.text($0) } }
        }
        if case .json(let text) = value, case .string(let inner)? = try? JSONReader.parse(Array(text.utf8)) {
            return inner.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        }
        return (value.text ?? "").split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }
}
