import NIOCore

/// Encodes spans as an OTLP/HTTP protobuf `ExportTraceServiceRequest` (one `ResourceSpans` per resource, see
/// `ResourceGroups`), with the same content as `OTLPJSON`, straight into bytes (the webhook's OTLP receiver reads with `ProtobufReader`; tests check both against swift-protobuf).
public enum OTLPProtobuf {
    public static func request(
        _ records: RecordSelection, resource: [(key: String, value: AttributeValue)], scope: OTLPScope
    ) -> ByteBuffer {
        OutputBuffer.byteBuffer(expected: 512 * records.count + 256) { output in
            var writer = ProtobufWriter(output: output)
            let groups = ResourceGroups(records)
            for group in groups.indices {
                writer.message(1, expected: 3) { resourceSpans in                 // ExportTraceServiceRequest.resource_spans
                    resourceSpans.message(1, expected: 2) { message in             // ResourceSpans.resource
                        for entry in groups.attributes(group, base: resource) { keyValue(&message, 1, entry.key, entry.value) }
                    }
                    resourceSpans.message(2, expected: 3) { scopeSpans in          // ResourceSpans.scope_spans
                        scopeSpans.message(1) { instrumentation in                 // ScopeSpans.scope
                            instrumentation.string(1, scope.name)
                            instrumentation.string(2, scope.version)
                        }
                        groups.forEach(in: group, records) { span(&scopeSpans, $0) } // borrowed, not copied
                    }
                }
            }
            output = writer.output
        }
    }

    /// ScopeSpans.spans (2): one Span.
    static func span(_ writer: inout ProtobufWriter, _ record: Record) {
        writer.message(2, expected: 2) { span in
            if let trace = record.traceID { span.words(1, trace.high, trace.low) }
            if let id = record.spanID { span.words(2, id.value) }
            if let parent = record.parentSpanID { span.words(4, parent.value) }
            span.string(5, record.name ?? "")
            span.varint(6, UInt64(SpanAttributes.kind(record)))
            let start = record.startTime ?? record.observedTime
            span.fixed64(7, start)
            span.fixed64(8, record.endTime ?? start)
            SpanAttributes.forEach(record) { keyValue(&span, 9, $0, $1) }
            switch record.status {
            case .unset: break
            case .ok: span.message(15) { $0.varint(3, 1) }
            case .error(let message, _):
                span.message(15, expected: message.utf8.count < 120 ? 1 : 2) { status in
                    status.string(2, message)
                    status.varint(3, 2)
                }
            }
        }
    }

    /// A KeyValue under `field`. A scalar value's sizes are known up front, so its prefixes are written exactly.
    static func keyValue(_ writer: inout ProtobufWriter, _ field: Int, _ key: String, _ value: AttributeValue) {
        guard let valueSize = scalarSize(value) else {
            return writer.message(field) { keyValue in
                keyValue.string(1, key)
                keyValue.message(2) { anyValue(&$0, value) }
            }
        }
        let keySize = key.isEmpty ? 0 : ProtobufWriter.delimitedSize(key.utf8.count)
        writer.message(field, length: keySize + ProtobufWriter.delimitedSize(valueSize)) { keyValue in
            keyValue.string(1, key)
            keyValue.message(2, length: valueSize) { anyValue(&$0, value) }
        }
    }

    /// The encoded size of a scalar AnyValue (nil for arrays).
    static func scalarSize(_ value: AttributeValue) -> Int? {
        switch value {
        case .string(let text): return ProtobufWriter.delimitedSize(text.utf8.count)
        case .bool: return 2
        case .int(let number): return 1 + ProtobufWriter.varintSize(UInt64(bitPattern: number))
        case .double: return 9
        case .array: return nil
        }
    }

    static func anyValue(_ writer: inout ProtobufWriter, _ value: AttributeValue) {
        switch value {
        case .string(let text):
            // An empty string is still a string value: written, not left out.
            if text.isEmpty {
                writer.tag(1, 2)
                writer.varint(0)
            } else {
                writer.string(1, text)
            }
        case .bool(let flag):
            writer.tag(2, 0)
            writer.varint(flag ? 1 : 0)
        case .int(let number):
            writer.tag(3, 0)
            writer.varint(UInt64(bitPattern: number))
        case .double(let number):
            writer.fixed64(4, number.bitPattern)
        case .array(let items):
            writer.message(5, expected: 2) { array in
                for item in items { array.message(1, expected: 2) { anyValue(&$0, item) } }
            }
        }
    }
}
