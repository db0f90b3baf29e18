import NIOCore

/// Encodes spans as an OTLP/HTTP JSON `ExportTraceServiceRequest` straight into bytes: lowerCamelCase keys,
/// lowercase hex ids, integer enums, 64-bit integers as strings, and `kind` and `attributes` on every span.
/// (swift-protobuf's JSON encoder writes ids as base64 and enums as names, which OTLP/JSON does not accept.)
public enum OTLPJSON {
    public static func request(
        _ records: RecordSelection, resource: [(key: String, value: AttributeValue)], scope: OTLPScope
    ) -> ByteBuffer {
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
                                            records.forEach { record in list.element { span(&$0, record) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return writer.output.byteBuffer
    }

    static func span(_ writer: inout JSONWriter, _ record: Record) {
        writer.object { span in
            span.member("traceId") { writer in
                if let trace = record.traceID { writer.hexString(trace.high, trace.low) } else { writer.string("") }
            }
            span.member("spanId") { writer in
                if let id = record.spanID { writer.hexString(id.value) } else { writer.string("") }
            }
            if let parent = record.parentSpanID { span.member("parentSpanId") { $0.hexString(parent.value) } }
            span.member("name") { $0.string(record.name ?? "") }
            span.member("kind") { $0.int(SpanAttributes.kind(record)) }
            let start = record.startTime ?? record.observedTime
            span.member("startTimeUnixNano") { $0.quoted(start) }
            span.member("endTimeUnixNano") { $0.quoted(record.endTime ?? start) }
            span.member("attributes") { writer in
                writer.array { list in
                    SpanAttributes.forEach(record) { key, value in list.element { keyValue(&$0, key, value) } }
                }
            }
            span.member("events") { $0.raw("[]") }
            span.member("status") { writer in
                writer.object { status in
                    switch record.status {
                    case .unset: status.member("code") { $0.raw("0") }
                    case .ok: status.member("code") { $0.raw("1") }
                    case .error(let message, _):
                        status.member("message") { $0.string(message) }
                        status.member("code") { $0.raw("2") }
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
            keyValue.member("key") { $0.string(key) }
            keyValue.member("value") { anyValue(&$0, value) }
        }
    }

    static func anyValue(_ writer: inout JSONWriter, _ value: AttributeValue) {
        writer.object { any in
            switch value {
            case .string(let text): any.member("stringValue") { $0.string(text) }
            case .int(let number):
                any.member("intValue") { writer in
                    if number < 0 { writer.string(String(number)) } else { writer.quoted(UInt64(number)) }
                }
            case .double(let number): any.member("doubleValue") { $0.double(number) }
            case .bool(let flag): any.member("boolValue") { $0.bool(flag) }
            case .array(let items):
                any.member("arrayValue") { $0.object { $0.member("values") { $0.array(items) { anyValue(&$0, $1) } } } }
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
