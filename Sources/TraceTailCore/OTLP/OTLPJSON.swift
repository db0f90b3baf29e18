/// Encodes spans as an OTLP/HTTP JSON `ExportTraceServiceRequest` straight into bytes: lowerCamelCase keys,
/// lowercase hex ids, integer enums, 64-bit integers as strings, and `kind` and `attributes` on every span.
/// (swift-protobuf's JSON encoder writes ids as base64 and enums as names, which OTLP/JSON does not accept.)
public enum OTLPJSON {
    public static func request(
        _ records: some Collection<Record>, resource: [(key: String, value: AttributeValue)], scope: OTLPScope
    ) -> [UInt8] {
        var writer = JSONWriter(capacity: 800 * records.count + 256)
        writer.object { request in
            request("resourceSpans") { list in
                list.array(CollectionOfOne(())) { writer, _ in
                    writer.object { resourceSpans in
                        resourceSpans("resource") { $0.object { $0("attributes") { attributes(&$0, resource) } } }
                        resourceSpans("scopeSpans") { list in
                            list.array(CollectionOfOne(())) { writer, _ in
                                writer.object { scopeSpans in
                                    scopeSpans("scope") { writer in
                                        writer.object { $0.string("name", scope.name); $0.string("version", scope.version) }
                                    }
                                    scopeSpans("spans") { writer in
                                        writer.array { list in
                                            for index in records.indices { list.element { span(&$0, records[index]) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return writer.bytes
    }

    static func span(_ writer: inout JSONWriter, _ record: Record) {
        writer.object { span in
            span.string("traceId", record.traceID?.description ?? "")
            span.string("spanId", record.spanID?.description ?? "")
            if let parent = record.parentSpanID { span.string("parentSpanId", parent.description) }
            span.string("name", record.name ?? "")
            span.int("kind", SpanAttributes.kind(record))
            span.string("startTimeUnixNano", String(record.startTime ?? record.observedTime))
            span.string("endTimeUnixNano", String(record.endTime ?? record.startTime ?? record.observedTime))
            span("attributes") { writer in
                writer.array { list in
                    SpanAttributes.forEach(record) { key, value in list.element { keyValue(&$0, key, value) } }
                }
            }
            span("events") { $0.array(EmptyCollection<Int>()) { _, _ in } }
            span("status") { writer in
                writer.object { status in
                    switch record.status {
                    case .unset: status.int("code", 0)
                    case .ok: status.int("code", 1)
                    case .error(let message, _):
                        status.string("message", message)
                        status.int("code", 2)
                    }
                }
            }
        }
    }

    static func attributes(_ writer: inout JSONWriter, _ list: [(key: String, value: AttributeValue)]) {
        writer.array(list) { keyValue(&$0, $1.key, $1.value) }
    }

    static func keyValue(_ writer: inout JSONWriter, _ key: String, _ value: AttributeValue) {
        writer.object { keyValue in
            keyValue.string("key", key)
            keyValue("value") { anyValue(&$0, value) }
        }
    }

    static func anyValue(_ writer: inout JSONWriter, _ value: AttributeValue) {
        writer.object { any in
            switch value {
            case .string(let text): any.string("stringValue", text)
            case .int(let number): any.string("intValue", String(number))
            case .double(let number): any.double("doubleValue", number)
            case .bool(let flag): any.bool("boolValue", flag)
            case .array(let items):
                any("arrayValue") { $0.object { $0("values") { $0.array(items) { anyValue(&$0, $1) } } } }
            }
        }
    }
}

/// The instrumentation scope TraceTail reports spans under.
public struct OTLPScope: Sendable {
    public var name: String
    public var version: String

    public init(name: String = "tracetail", version: String = TraceTail.version) {
        self.name = name
        self.version = version
    }
}
