import NIOCore

/// Encodes spans as an OTLP/HTTP JSON `ExportTraceServiceRequest` (one `resourceSpans` entry per resource, see
/// `ResourceGroups`) straight into bytes: lowerCamelCase keys,
/// lowercase hex ids, integer enums, 64-bit integers as strings, and `kind` and `attributes` on every span.
/// (swift-protobuf's JSON encoder writes ids as base64 and enums as names, which OTLP/JSON does not accept.)
public enum OTLPJSON {
    public static func request(
        _ records: RecordSelection, resource: [(key: String, value: AttributeValue)], scope: OTLPScope
    ) -> ByteBuffer {
        OutputBuffer.byteBuffer(expected: 800 * records.count + 256) { output in
            var writer = JSONWriter(output: output)
            writer.object { request in
                request("resourceSpans") { list in
                    let groups = ResourceGroups(records)
                    list.array(groups.indices) { writer, group in
                        writer.object { resourceSpans in
                            resourceSpans("resource") { writer in
                                writer.object { $0("attributes") { attributes(&$0, groups.attributes(group, base: resource)) } }
                            }
                            resourceSpans("scopeSpans") { list in
                                list.array(CollectionOfOne(())) { writer, _ in
                                    writer.object { scopeSpans in
                                        scopeSpans("scope") { writer in
                                            writer.object { $0.string("name", scope.name); $0.string("version", scope.version) }
                                        }
                                        scopeSpans("spans") { writer in
                                            writer.array { list in
                                                groups.forEach(in: group, records) { record in list.element { span(&$0, record) } }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            output = writer.output
        }
    }

    /// One span. The hot path of the JSON encoding: fixed text between the values is written as whole literals
    /// (member names, punctuation) rather than member by member.
    static func span(_ writer: inout JSONWriter, _ record: Record) {
        writer.raw(#"{"traceId":"#)
        if let trace = record.traceID { writer.hexString(trace.high, trace.low) } else { writer.raw(#""""#) }
        writer.raw(#","spanId":"#)
        if let id = record.spanID { writer.hexString(id.value) } else { writer.raw(#""""#) }
        if let parent = record.parentSpanID {
            writer.raw(#","parentSpanId":"#)
            writer.hexString(parent.value)
        }
        writer.raw(#","name":"#)
        writer.string(record.name ?? "")
        writer.raw(#","kind":"#)
        writer.int(SpanAttributes.kind(record))
        let start = record.startTime ?? record.observedTime
        writer.raw(#","startTimeUnixNano":"#)
        writer.quoted(start)
        writer.raw(#","endTimeUnixNano":"#)
        writer.quoted(record.endTime ?? start)
        writer.raw(#","attributes":["#)
        var first = true
        SpanAttributes.forEach(record) { key, value in
            if !first { writer.raw(",") }
            first = false
            keyValue(&writer, key, value)
        }
        writer.raw(#"],"events":[],"status":{"#)
        switch record.status {
        case .unset: writer.raw(#""code":0}}"#)
        case .ok: writer.raw(#""code":1}}"#)
        case .error(let message, _):
            writer.raw(#""message":"#)
            writer.string(message)
            writer.raw(#","code":2}}"#)
        }
    }

    static func attributes(_ writer: inout JSONWriter, _ list: [(key: String, value: AttributeValue)]) {
        writer.array(list) { keyValue(&$0, $1.key, $1.value) }
    }

    static func keyValue(_ writer: inout JSONWriter, _ key: String, _ value: AttributeValue) {
        writer.raw(#"{"key":"#)
        writer.string(key)
        writer.raw(#","value":"#)
        anyValue(&writer, value)
        writer.raw("}")
    }

    static func anyValue(_ writer: inout JSONWriter, _ value: AttributeValue) {
        switch value {
        case .string(let text):
            writer.raw(#"{"stringValue":"#)
            writer.string(text)
        case .int(let number):
            writer.raw(#"{"intValue":"#)
            if number < 0 { writer.string(String(number)) } else { writer.quoted(UInt64(number)) }
        case .double(let number):
            writer.raw(#"{"doubleValue":"#)
            writer.double(number)
        case .bool(let flag):
            writer.raw(#"{"boolValue":"#)
            writer.bool(flag)
        case .array(let items):
            writer.raw(#"{"arrayValue":{"values":"#)
            writer.array(items) { anyValue(&$0, $1) }
            writer.raw("}")
        }
        writer.raw("}")
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
