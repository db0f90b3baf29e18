import FoundationEssentials
import TraceTailCore

/// Reads an OTLP/HTTP trace export (protobuf, or JSON as proto3's JSON mapping reads it) into span records, so that any
/// OpenTelemetry SDK exporter can use the sidecar as its endpoint. LangWatch's own attributes
/// (`langwatch.span.type`, `langwatch.input`/`output`, `langwatch.span.cost`, `langwatch.labels`) go back to the
/// span fields they came from, so that outputs write them once; resource attributes are kept on each span, events
/// as the record's events (links and dropped counts are not kept).
/// Protobuf is read straight from the wire format; each record keeps its span's bytes (or JSON text) as raw.
enum OTLPSpans {
    /// One span as the export carries it, whichever encoding it came in.
    struct ExportedSpan {
        var traceID: TraceID?
        var spanID: SpanID?
        /// nil for a root span, also when an exporter sends an all-zero parent id.
        var parentSpanID: SpanID?
        var parentIsInvalid = false
        var name = ""
        var isClient = false
        var start: UInt64 = 0
        var end: UInt64 = 0
        var attributes: [(key: String, value: JSONValue)] = []
        var statusCode: Int64 = 0
        var statusMessage = ""
        var events: [(name: String, time: UInt64, attributes: [(key: String, value: JSONValue)])] = []
    }

    static func records(protobuf body: [UInt8], source: String) throws(RequestError) -> RecordBatch {
        var builder = BatchBuilder(source: source)
        do {
            try ProtobufReader(body).forEach(1) { try builder.resourceSpans($0) }          // resource_spans
        } catch let error as RequestError {
            throw error
        } catch {
            throw .badRequest("invalid OTLP protobuf: \(error)")
        }
        return builder.batch
    }

    /// Reads an OTLP/JSON export as proto3's JSON mapping has it read: fields under their lowerCamelCase or their
    /// proto names, 64-bit integers as strings or numbers, enums as names or numbers, ids as hex (OTLP/JSON) or
    /// base64 (the mapping's bytes). Unknown fields are skipped, as OTLP asks of receivers, but a body that has
    /// content and yields no span is refused, naming what it holds and what was expected.
    static func records(json body: [UInt8], source: String) throws(RequestError) -> RecordBatch {
        let document: JSONValue
        do {
            document = try JSONReader.parse(body)
        } catch {
            throw .badRequest("invalid JSON: \(error)")
        }
        guard case .object = document else { throw .badRequest("expected a JSON object with \(Field.resourceSpans.quoted)") }
        var builder = BatchBuilder(source: source)
        var unread: [String] = []
        unread += unknownKeys(document, [Field.resourceSpans], at: "")
        for (resourceIndex, resourceSpans) in try list(document[Field.resourceSpans], Field.resourceSpans).enumerated() {
            let path = "\(Field.resourceSpans.json)[\(resourceIndex)]"
            unread += unknownKeys(resourceSpans, [Field.resource, Field.scopeSpans, Field.schemaURL], at: path)
            let resource = try keyValues(resourceSpans[Field.resource]?[Field.attributes])
            for (scopeIndex, scopeSpans) in try list(resourceSpans[Field.scopeSpans], Field.scopeSpans).enumerated() {
                unread += unknownKeys(scopeSpans, [Field.scope, Field.spans, Field.schemaURL], at: "\(path).\(Field.scopeSpans.json)[\(scopeIndex)]")
                for item in try list(scopeSpans[Field.spans], Field.spans) {
                    let span: ExportedSpan
                    do throws(RequestError) {
                        span = try OTLPSpans.span(json: item)
                    } catch {
                        throw .badRequest("span \(builder.batch.records.count): \(error.message)")
                    }
                    try builder.append(span, raw: Array(JSONFlattener.text(item).utf8), resource: resource)
                }
            }
        }
        if builder.batch.records.isEmpty, !unread.isEmpty {
            throw .badRequest("no span read: expected {\(Field.resourceSpans.quoted): [{\(Field.scopeSpans.quoted): [{'spans': [...]}]}]}, found \(unread.joined(separator: ", "))")
        }
        return builder.batch
    }

    /// Appends spans in arrival order, numbering them for positions and error messages.
    struct BatchBuilder {
        var batch = RecordBatch(ack: AckToken(0))
        let source: String
        let now = Clock.nowNanoseconds

        init(source: String) {
            self.source = source
            batch.arrivedAsSpans = true
        }

        /// ResourceSpans: the resource's attributes (wherever they come in the message), then every span.
        mutating func resourceSpans(_ message: ProtobufReader) throws {
            var resource: [(key: String, value: JSONValue)] = []
            try message.forEach(1) { try $0.forEach(1) { resource.append(try keyValue($0)) } } // resource.attributes
            try message.forEach(2) { scopeSpans in                                              // scope_spans
                try scopeSpans.forEach(2) { span in                                            // spans
                    try append(try OTLPSpans.span(protobuf: span), raw: Array(span.contents), resource: resource)
                }
            }
        }

        mutating func append(_ span: ExportedSpan, raw: [UInt8], resource: [(key: String, value: JSONValue)]) throws(RequestError) {
            let index = batch.records.count
            batch.append(raw, position: SourcePosition(source: source, offsets: UInt64(index)..<UInt64(index + 1)), observedTime: now)
            do throws(RequestError) {
                try fill(&batch.records[index], from: span, resource: resource)
            } catch {
                throw .badRequest("span \(index): \(error.message)")
            }
        }
    }

    private static func fill(_ record: inout Record, from span: ExportedSpan, resource: [(key: String, value: JSONValue)]) throws(RequestError) {
        guard let traceID = span.traceID else { throw .badRequest("invalid trace id") }
        guard let spanID = span.spanID else { throw .badRequest("invalid span id") }
        guard !span.parentIsInvalid else { throw .badRequest("invalid parent span id") }
        record.traceID = traceID
        record.spanID = spanID
        record.parentSpanID = span.parentSpanID
        record.name = span.name
        record.startTime = span.start
        record.endTime = max(span.end, span.start)
        switch span.statusCode {
        case 2: record.status = .error(message: span.statusMessage.isEmpty ? "error" : span.statusMessage, stacktrace: [])
        case 1: record.status = .ok
        default: break
        }
        for (key, json) in span.attributes {
            let value = attribute(json)
            switch (key, value) {
            case ("langwatch.span.type", .string(let name)) where SpanType(rawValue: name) != nil: record.type = SpanType(rawValue: name)
            case ("langwatch.input", .string(let text)): record.input = payload(text)
            case ("langwatch.output", .string(let text)): record.output = payload(text)
            case ("langwatch.span.cost", .double(let cost)): record.cost = cost
            case ("langwatch.labels", .string(let text)):
                record.attributes[key] = (try? JSONReader.parse(Array(text.utf8))).map(JSONFlattener.attribute) ?? value
            case ("error.message", _) where record.status != .unset: break // the status carries it
            default: record.setAttribute(reading: key, value) // older conventions' names read as today's
            }
        }
        for (key, json) in resource where record.attributes[key] == nil {
            record.attributes[key] = attribute(json)
        }
        if record.type == nil { record.type = span.isClient ? .llm : .span }
        record.events = span.events.map { event in
            SpanEvent(name: event.name, time: event.time, attributes: Attributes(event.attributes.map { ($0.key, attribute($0.value)) }))
        }
    }

    /// `langwatch.input`/`output` hold a TypedValue as JSON text; other text is the payload itself.
    private static func payload(_ text: String) -> SpanPayload {
        guard let value = try? JSONReader.parse(Array(text.utf8)), case .string(let type)? = value["type"],
              let inner = value["value"] else { return .text(text) }
        if type == "text" || type == "raw", case .string(let plain) = inner { return .text(plain) }
        return .json(inner)
    }

    /// An AnyValue (read as JSON: a kvlist is an object, bytes are base64 text) as an attribute: arrays stay
    /// arrays, a kvlist becomes its JSON text.
    private static func attribute(_ value: JSONValue) -> AttributeValue {
        switch value {
        case .null: return .string("")
        case .bool(let flag): return .bool(flag)
        case .int(let number): return .int(number)
        case .double(let number): return .double(number)
        case .string(let text): return .string(text)
        case .array(let items): return .array(items.map(attribute))
        case .object: return .string(JSONFlattener.text(value))
        }
    }

    // MARK: - Protobuf (opentelemetry-proto's trace.proto and common.proto field numbers)

    private static func span(protobuf message: ProtobufReader) throws(ProtobufReader.Malformed) -> ExportedSpan {
        var span = ExportedSpan()
        var fields = message
        while let field = try fields.next() {
            switch field.number {
            case 1: span.traceID = traceID(try fields.bytes(field))
            case 2: span.spanID = spanID(try fields.bytes(field))
            case 4:
                let bytes = try fields.bytes(field)
                span.parentSpanID = spanID(bytes)
                span.parentIsInvalid = !bytes.isEmpty && bytes.count != 8
            case 5: span.name = try fields.string(field)
            case 6: span.isClient = try fields.varint(field) == 3                      // SPAN_KIND_CLIENT
            case 7: span.start = try fields.fixed64(field)
            case 8: span.end = try fields.fixed64(field)
            case 9: span.attributes.append(try keyValue(try fields.message(field)))
            case 11:                                                                    // Event
                var event = (name: "", time: UInt64(0), attributes: [(key: String, value: JSONValue)]())
                var message = try fields.message(field)
                while let field = try message.next() {
                    switch field.number {
                    case 1: event.time = try message.fixed64(field)
                    case 2: event.name = try message.string(field)
                    case 3: event.attributes.append(try keyValue(try message.message(field)))
                    default: try message.skip(field)
                    }
                }
                span.events.append(event)
            case 15:
                var status = try fields.message(field)
                while let field = try status.next() {
                    switch field.number {
                    case 2: span.statusMessage = try status.string(field)
                    case 3: span.statusCode = Int64(truncatingIfNeeded: try status.varint(field))
                    default: try status.skip(field)
                    }
                }
            default: try fields.skip(field)
            }
        }
        return span
    }

    private static func keyValue(_ message: ProtobufReader) throws(ProtobufReader.Malformed) -> (key: String, value: JSONValue) {
        var key = ""
        var value = JSONValue.null
        var fields = message
        while let field = try fields.next() {
            switch field.number {
            case 1: key = try fields.string(field)
            case 2: value = try anyValue(try fields.message(field))
            default: try fields.skip(field)
            }
        }
        return (key, value)
    }

    private static func anyValue(_ message: ProtobufReader) throws(ProtobufReader.Malformed) -> JSONValue {
        var value = JSONValue.null
        var fields = message
        while let field = try fields.next() {
            switch field.number {
            case 1: value = .string(try fields.string(field))
            case 2: value = .bool(try fields.varint(field) != 0)
            case 3: value = .int(Int64(bitPattern: try fields.varint(field)))
            case 4: value = .double(Double(bitPattern: try fields.fixed64(field)))
            case 5, 6:                                                                  // ArrayValue, KeyValueList
                var items: [JSONValue] = []
                var members: [(key: String, value: JSONValue)] = []
                var list = try fields.message(field)
                while let item = try list.next() {
                    guard item.number == 1 else { try list.skip(item); continue }
                    if field.number == 5 { items.append(try anyValue(try list.message(item))) } else { members.append(try keyValue(try list.message(item))) }
                }
                value = field.number == 5 ? .array(items) : .object(members)
            case 7: value = .string(Data(try fields.bytes(field)).base64EncodedString())
            default: try fields.skip(field)
            }
        }
        return value
    }

    private static func traceID(_ bytes: ArraySlice<UInt8>) -> TraceID? {
        guard bytes.count == 16 else { return nil }
        let id = TraceID(high: bigEndianWord(bytes.prefix(8)), low: bigEndianWord(bytes.suffix(8)))
        return id.high | id.low == 0 ? nil : id
    }

    private static func spanID(_ bytes: ArraySlice<UInt8>) -> SpanID? {
        guard bytes.count == 8 else { return nil }
        let value = bigEndianWord(bytes)
        return value == 0 ? nil : SpanID(value)
    }

    private static func bigEndianWord(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    // MARK: - OTLP/JSON (proto3's JSON mapping; see `ProtoJSON`)

    /// The fields read from OTLP/JSON, by their proto names.
    enum Field {
        static let resourceSpans = ProtoField("resource_spans"), resource = ProtoField("resource"), scopeSpans = ProtoField("scope_spans")
        static let scope = ProtoField("scope"), spans = ProtoField("spans"), schemaURL = ProtoField("schema_url")
        static let traceID = ProtoField("trace_id"), spanID = ProtoField("span_id"), parentSpanID = ProtoField("parent_span_id")
        static let name = ProtoField("name"), kind = ProtoField("kind"), attributes = ProtoField("attributes")
        static let startTime = ProtoField("start_time_unix_nano"), endTime = ProtoField("end_time_unix_nano")
        static let status = ProtoField("status"), code = ProtoField("code"), message = ProtoField("message")
        static let events = ProtoField("events"), time = ProtoField("time_unix_nano")
        static let key = ProtoField("key"), value = ProtoField("value"), values = ProtoField("values")
        static let stringValue = ProtoField("string_value"), boolValue = ProtoField("bool_value"), intValue = ProtoField("int_value")
        static let doubleValue = ProtoField("double_value"), arrayValue = ProtoField("array_value")
        static let kvlistValue = ProtoField("kvlist_value"), bytesValue = ProtoField("bytes_value")
    }

    /// SpanKind and StatusCode value names, in number order (trace.proto).
    static let spanKinds = ["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT",
                            "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"]
    static let statusCodes = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"]

    /// A repeated field: an array, or nothing when absent.
    private static func list(_ value: JSONValue?, _ field: ProtoField) throws(RequestError) -> [JSONValue] {
        guard let value else { return [] }
        guard case .array(let items) = value else { throw .badRequest("\(field.quoted) must be an array") }
        return items
    }

    /// The keys of an object that name none of `fields`, each with where it is (`resourceSpans[0].foo`).
    private static func unknownKeys(_ value: JSONValue, _ fields: [ProtoField], at path: String) -> [String] {
        guard case .object(let members) = value else { return ["\(path.isEmpty ? "a" : path + " is a") \(JSONFlattener.text(value).prefix(40))"] }
        return members.filter { member in !fields.contains { $0.names(member.key) } }
            .map { "'\(path.isEmpty ? "" : path + ".")\($0.key)'" }
    }

    private static func span(json item: JSONValue) throws(RequestError) -> ExportedSpan {
        guard case .object = item else { throw .badRequest("expected an object, not \(JSONFlattener.text(item).prefix(40))") }
        var span = ExportedSpan()
        span.traceID = ProtoJSON.idBytes(item[Field.traceID], count: 16).flatMap { traceID($0[...]) }
        span.spanID = ProtoJSON.idBytes(item[Field.spanID], count: 8).flatMap { spanID($0[...]) }
        let parent = ProtoJSON.idBytes(item[Field.parentSpanID], count: 8)
        span.parentSpanID = parent.flatMap { spanID($0[...]) }
        span.parentIsInvalid = parent == nil
        if let name = item[Field.name] { span.name = name.keptText }
        span.isClient = try ProtoJSON.enumeration(item[Field.kind], Field.kind, names: spanKinds) == 3
        span.start = UInt64(bitPattern: try ProtoJSON.integer(item[Field.startTime], Field.startTime) ?? 0)
        span.end = UInt64(bitPattern: try ProtoJSON.integer(item[Field.endTime], Field.endTime) ?? 0)
        span.attributes = try keyValues(item[Field.attributes])
        for event in try list(item[Field.events], Field.events) {
            span.events.append((name: event[Field.name]?.keptText ?? "",
                                time: UInt64(bitPattern: try ProtoJSON.integer(event[Field.time], Field.time) ?? 0),
                                attributes: try keyValues(event[Field.attributes])))
        }
        if let status = item[Field.status] {
            span.statusCode = try ProtoJSON.enumeration(status[Field.code], Field.code, names: statusCodes)
            if let message = status[Field.message] { span.statusMessage = message.keptText }
        }
        return span
    }

    private static func keyValues(_ value: JSONValue?) throws(RequestError) -> [(key: String, value: JSONValue)] {
        var result: [(key: String, value: JSONValue)] = []
        for item in try list(value, Field.attributes) {
            // An absent key is the empty one, as proto3 reads it; a key that is not text is an error.
            guard case .object = item, case .string(let key) = item[Field.key] ?? .string("") else {
                throw .badRequest("an attribute must be {'key': text, 'value': AnyValue}, not \(JSONFlattener.text(item).prefix(80))")
            }
            result.append((key, anyValue(item[Field.value])))
        }
        return result
    }

    /// An AnyValue as the protobuf reading gives it: a kvlist as an object, bytes as base64 text. A value of a
    /// kind this reader does not know, or not in its kind's form, is kept as it came (an object becomes its JSON
    /// text), never emptied; only an empty value (`{}`, `null`) is the empty string.
    private static func anyValue(_ value: JSONValue?) -> JSONValue {
        guard let value, case .object(let members) = value else { return value ?? .null }
        if members.isEmpty || (members.count == 1 && members[0].value == .null) { return .null }
        guard members.count == 1 else { return value }
        if case .string(let text)? = value[Field.stringValue] { return .string(text) }
        if case .bool(let flag)? = value[Field.boolValue] { return .bool(flag) }
        if let number = value[Field.intValue], let integer = try? ProtoJSON.integer(number, Field.intValue) { return .int(integer) }
        if let number = value[Field.doubleValue].flatMap(ProtoJSON.double) { return .double(number) }
        if let array = value[Field.arrayValue], case .array(let items) = array[Field.values] ?? .array([]) {
            return .array(items.map(anyValue))
        }
        if let list = value[Field.kvlistValue], let entries = try? keyValues(list[Field.values]) { return .object(entries) }
        if case .string(let base64)? = value[Field.bytesValue] { return .string(base64) }
        return value
    }
}
