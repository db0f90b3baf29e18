import FoundationEssentials
import TraceTailCore

/// Reads an OTLP/HTTP trace export (protobuf, or OTLP/JSON with hex ids) into span records, so that any
/// OpenTelemetry SDK exporter can use the sidecar as its endpoint. LangWatch's own attributes
/// (`langwatch.span.type`, `langwatch.input`/`output`, `langwatch.span.cost`, `langwatch.labels`) go back to the
/// span fields they came from, so that outputs write them once; resource attributes are kept on each span.
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

    static func records(json body: [UInt8], source: String) throws(RequestError) -> RecordBatch {
        let document: JSONValue
        do {
            document = try JSONReader.parse(body)
        } catch {
            throw .badRequest("invalid JSON: \(error)")
        }
        guard case .object = document else { throw .badRequest("expected a JSON object with 'resourceSpans'") }
        var builder = BatchBuilder(source: source)
        for resourceSpans in document["resourceSpans"]?.items ?? [] {
            let resource = try keyValues(resourceSpans["resource"]?["attributes"])
            for scopeSpans in resourceSpans["scopeSpans"]?.items ?? [] {
                for item in scopeSpans["spans"]?.items ?? [] {
                    try builder.append(try span(json: item), raw: Array(JSONFlattener.text(item).utf8), resource: resource)
                }
            }
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

    // MARK: - OTLP/JSON (camelCase, hex ids, 64-bit integers as strings or numbers)

    private static func span(json item: JSONValue) throws(RequestError) -> ExportedSpan {
        var span = ExportedSpan()
        span.traceID = item["traceId"]?.text.flatMap(TraceID.init(hex:))
        span.spanID = item["spanId"]?.text.flatMap(SpanID.init(hex:))
        if let parent = item["parentSpanId"], parent.text != "" {
            let text = parent.text ?? ""
            span.parentSpanID = SpanID(hex: text)
            span.parentIsInvalid = text.utf8.count != 16 || UInt64(text, radix: 16) == nil
        }
        if case .string(let name)? = item["name"] { span.name = name }
        span.isClient = try integer(item["kind"]) == 3
        span.start = UInt64(clamping: try integer(item["startTimeUnixNano"]) ?? 0)
        span.end = UInt64(clamping: try integer(item["endTimeUnixNano"]) ?? 0)
        span.attributes = try keyValues(item["attributes"])
        if let status = item["status"] {
            span.statusCode = try integer(status["code"]) ?? 0
            if case .string(let message)? = status["message"] { span.statusMessage = message }
        }
        return span
    }

    private static func keyValues(_ value: JSONValue?) throws(RequestError) -> [(key: String, value: JSONValue)] {
        var result: [(key: String, value: JSONValue)] = []
        for item in value?.items ?? [] {
            guard case .string(let key)? = item["key"] else { throw .badRequest("an attribute without a 'key'") }
            result.append((key, try anyValue(item["value"])))
        }
        return result
    }

    private static func anyValue(_ value: JSONValue?) throws(RequestError) -> JSONValue {
        guard let value else { return .null }
        if case .string(let text)? = value["stringValue"] { return .string(text) }
        if case .bool(let flag)? = value["boolValue"] { return .bool(flag) }
        if let number = try integer(value["intValue"]) { return .int(number) }
        if let number = value["doubleValue"]?.number { return .double(number) }
        if let items = value["arrayValue"]?["values"]?.items {
            var array: [JSONValue] = []
            for item in items { array.append(try anyValue(item)) }
            return .array(array)
        }
        if let list = value["kvlistValue"] { return .object(try keyValues(list["values"])) }
        if case .string(let base64)? = value["bytesValue"] { return .string(base64) }
        return .null
    }

    private static func integer(_ value: JSONValue?) throws(RequestError) -> Int64? {
        switch value {
        case nil, .null?: return nil
        case .int(let number)?: return number
        case .string(let text)?:
            guard let number = Int64(text) ?? UInt64(text).map({ Int64(bitPattern: $0) }) else {
                throw .badRequest("'\(text)' is not an integer")
            }
            return number
        default: throw .badRequest("expected an integer")
        }
    }
}
