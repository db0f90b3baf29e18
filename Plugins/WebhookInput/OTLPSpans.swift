import Foundation
import TraceTailCore

/// Reads an OTLP/HTTP trace export (protobuf, or OTLP/JSON with hex ids) into span records, so that any
/// OpenTelemetry SDK exporter can use the sidecar as its endpoint. LangWatch's own attributes
/// (`langwatch.span.type`, `langwatch.input`/`output`, `langwatch.span.cost`, `langwatch.labels`) go back to the
/// span fields they came from, so that outputs write them once; resource attributes are kept on each span.
enum OTLPSpans {
    typealias Span = Opentelemetry_Proto_Trace_V1_Span
    typealias AnyValue = Opentelemetry_Proto_Trace_V1_AnyValue
    typealias KeyValue = Opentelemetry_Proto_Trace_V1_KeyValue

    static func records(protobuf body: [UInt8], source: String) throws(RequestError) -> RecordBatch {
        do {
            return try records(OTLPExportRequest(serializedBytes: body), source: source)
        } catch let error as RequestError {
            throw error
        } catch {
            throw .badRequest("invalid OTLP protobuf: \(error)")
        }
    }

    static func records(json body: [UInt8], source: String) throws(RequestError) -> RecordBatch {
        let document: JSONValue
        do {
            document = try JSONReader.parse(body)
        } catch {
            throw .badRequest("invalid JSON: \(error)")
        }
        return try records(try request(fromJSON: document), source: source)
    }

    private static func records(_ request: OTLPExportRequest, source: String) throws(RequestError) -> RecordBatch {
        var batch = RecordBatch(ack: AckToken(0))
        batch.arrivedAsSpans = true
        let now = Clock.nowNanoseconds
        var index: UInt64 = 0
        for resourceSpans in request.resourceSpans {
            let resource = resourceSpans.resource.attributes
            for scopeSpans in resourceSpans.scopeSpans {
                for span in scopeSpans.spans {
                    let raw = (try? span.serializedBytes() as [UInt8]) ?? []
                    batch.append(raw, position: SourcePosition(source: source, offsets: index..<index + 1), observedTime: now)
                    do throws(RequestError) {
                        try fill(&batch.records[Int(index)], from: span, resource: resource)
                    } catch {
                        throw .badRequest("span \(index): \(error.message)")
                    }
                    index += 1
                }
            }
        }
        return batch
    }

    private static func fill(_ record: inout Record, from span: Span, resource: [KeyValue]) throws(RequestError) {
        guard span.traceID.count == 16, let traceID = TraceID(hex: hex(span.traceID)) else { throw .badRequest("invalid trace id") }
        guard span.spanID.count == 8, let spanID = SpanID(hex: hex(span.spanID)) else { throw .badRequest("invalid span id") }
        record.traceID = traceID
        record.spanID = spanID
        if !span.parentSpanID.isEmpty {
            guard span.parentSpanID.count == 8 else { throw .badRequest("invalid parent span id") }
            record.parentSpanID = SpanID(hex: hex(span.parentSpanID))
        }
        record.name = span.name
        record.startTime = span.startTimeUnixNano
        record.endTime = max(span.endTimeUnixNano, span.startTimeUnixNano)
        switch span.status.code {
        case .error: record.status = .error(message: span.status.message.isEmpty ? "error" : span.status.message, stacktrace: [])
        case .ok: record.status = .ok
        default: break
        }
        for keyValue in span.attributes {
            let value = attribute(keyValue.value)
            switch (keyValue.key, value) {
            case ("langwatch.span.type", .string(let name)) where SpanType(rawValue: name) != nil: record.type = SpanType(rawValue: name)
            case ("langwatch.input", .string(let text)): record.input = payload(text)
            case ("langwatch.output", .string(let text)): record.output = payload(text)
            case ("langwatch.span.cost", .double(let cost)): record.cost = cost
            case ("langwatch.labels", .string(let text)):
                record.attributes[keyValue.key] = (try? JSONReader.parse(Array(text.utf8))).map(JSONFlattener.attribute) ?? value
            case ("error.message", _) where record.status != .unset: break // the status carries it
            default: record.attributes[keyValue.key] = value
            }
        }
        for keyValue in resource where record.attributes[keyValue.key] == nil {
            record.attributes[keyValue.key] = attribute(keyValue.value)
        }
        if record.type == nil { record.type = span.kind == .client ? .llm : .span }
    }

    /// `langwatch.input`/`output` hold a TypedValue as JSON text; other text is the payload itself.
    private static func payload(_ text: String) -> SpanPayload {
        guard let value = try? JSONReader.parse(Array(text.utf8)), case .string(let type)? = value["type"],
              let inner = value["value"] else { return .text(text) }
        if type == "text" || type == "raw", case .string(let plain) = inner { return .text(plain) }
        return .json(inner)
    }

    private static func attribute(_ value: AnyValue) -> AttributeValue {
        switch value.value {
        case .stringValue(let text)?: return .string(text)
        case .boolValue(let flag)?: return .bool(flag)
        case .intValue(let number)?: return .int(number)
        case .doubleValue(let number)?: return .double(number)
        case .arrayValue(let array)?: return .array(array.values.map(attribute))
        case .kvlistValue(let list)?:
            return .string(JSONFlattener.text(.object(list.values.map { ($0.key, json($0.value)) })))
        case .bytesValue(let bytes)?: return .string(bytes.base64EncodedString())
        case nil: return .string("")
        }
    }

    private static func json(_ value: AnyValue) -> JSONValue {
        switch attribute(value) {
        case .string(let text): return .string(text)
        case .bool(let flag): return .bool(flag)
        case .int(let number): return .int(number)
        case .double(let number): return .double(number)
        case .array: return .array(value.arrayValue.values.map(json))
        }
    }

    private static func hex(_ bytes: Data) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    // MARK: - OTLP/JSON (camelCase, hex ids, 64-bit integers as strings or numbers)

    private static func request(fromJSON document: JSONValue) throws(RequestError) -> OTLPExportRequest {
        guard case .object = document else { throw .badRequest("expected a JSON object with 'resourceSpans'") }
        var request = OTLPExportRequest()
        for resource in document["resourceSpans"]?.items ?? [] {
            var resourceSpans = Opentelemetry_Proto_Trace_V1_ResourceSpans()
            resourceSpans.resource.attributes = try keyValues(resource["resource"]?["attributes"])
            for scope in resource["scopeSpans"]?.items ?? [] {
                var scopeSpans = Opentelemetry_Proto_Trace_V1_ScopeSpans()
                for item in scope["spans"]?.items ?? [] {
                    var span = Span()
                    span.traceID = try bytes(item["traceId"], "traceId")
                    span.spanID = try bytes(item["spanId"], "spanId")
                    if item["parentSpanId"] != nil { span.parentSpanID = try bytes(item["parentSpanId"], "parentSpanId") }
                    if case .string(let name)? = item["name"] { span.name = name }
                    if let kind = try integer(item["kind"]) { span.kind = Span.SpanKind(rawValue: Int(kind)) ?? .unspecified }
                    span.startTimeUnixNano = UInt64(clamping: try integer(item["startTimeUnixNano"]) ?? 0)
                    span.endTimeUnixNano = UInt64(clamping: try integer(item["endTimeUnixNano"]) ?? 0)
                    span.attributes = try keyValues(item["attributes"])
                    if let status = item["status"] {
                        if let code = try integer(status["code"]) { span.status.code = .init(rawValue: Int(code)) ?? .unset }
                        if case .string(let message)? = status["message"] { span.status.message = message }
                    }
                    scopeSpans.spans.append(span)
                }
                resourceSpans.scopeSpans.append(scopeSpans)
            }
            request.resourceSpans.append(resourceSpans)
        }
        return request
    }

    private static func keyValues(_ value: JSONValue?) throws(RequestError) -> [KeyValue] {
        var result: [KeyValue] = []
        for item in value?.items ?? [] {
            guard case .string(let key)? = item["key"] else { throw .badRequest("an attribute without a 'key'") }
            var keyValue = KeyValue()
            keyValue.key = key
            keyValue.value = try anyValue(item["value"])
            result.append(keyValue)
        }
        return result
    }

    private static func anyValue(_ value: JSONValue?) throws(RequestError) -> AnyValue {
        var result = AnyValue()
        guard let value else { return result }
        if case .string(let text)? = value["stringValue"] {
            result.stringValue = text
        } else if case .bool(let flag)? = value["boolValue"] {
            result.boolValue = flag
        } else if let number = try integer(value["intValue"]) {
            result.intValue = number
        } else if let number = value["doubleValue"]?.number {
            result.doubleValue = number
        } else if let items = value["arrayValue"]?["values"]?.items {
            var array = Opentelemetry_Proto_Trace_V1_ArrayValue()
            for item in items { array.values.append(try anyValue(item)) }
            result.arrayValue = array
        } else if let list = value["kvlistValue"] {
            var kvlist = Opentelemetry_Proto_Trace_V1_KeyValueList()
            kvlist.values = try keyValues(list["values"])
            result.kvlistValue = kvlist
        } else if case .string(let base64)? = value["bytesValue"], let data = Data(base64Encoded: base64) {
            result.bytesValue = data
        }
        return result
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

    private static func bytes(_ value: JSONValue?, _ field: String) throws(RequestError) -> Data {
        guard case .string(let text)? = value, text.utf8.count % 2 == 0 else { throw .badRequest("'\(field)' must be hex") }
        var data = Data()
        var iterator = text.utf8.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            guard let byte = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else {
                throw .badRequest("'\(field)' must be hex")
            }
            data.append(byte)
        }
        return data
    }
}
