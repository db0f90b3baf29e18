import Foundation
import SwiftProtobuf
import Testing
import TestSupport
import TraceTailCore
@testable import WebhookInput

/// The webhook's OTLP receiver reads protobuf straight from the wire format: everything swift-protobuf writes must
/// come out as it went in, the two encodings must agree, and malformed bodies must be refused with the offset.
@Suite struct OTLPReceiverTests {
    typealias AnyValue = Opentelemetry_Proto_Trace_V1_AnyValue

    func keyValue(_ key: String, _ set: (inout AnyValue) -> Void) -> Opentelemetry_Proto_Trace_V1_KeyValue {
        var keyValue = Opentelemetry_Proto_Trace_V1_KeyValue()
        keyValue.key = key
        set(&keyValue.value)
        return keyValue
    }

    /// A span with every kind of value, an event and a link (which the receiver skips), an error status.
    func span() -> Opentelemetry_Proto_Trace_V1_Span {
        var span = Opentelemetry_Proto_Trace_V1_Span()
        span.traceID = Data((1...16).map { UInt8($0) })
        span.spanID = Data((1...8).map { UInt8($0 * 3) })
        span.parentSpanID = Data((1...8).map { UInt8($0 * 5) })
        span.traceState = "vendor=x"
        span.name = "chat ✓"
        span.kind = .client
        span.startTimeUnixNano = 1_767_225_600_000_000_000
        span.endTimeUnixNano = 1_767_225_601_000_000_000
        var list = Opentelemetry_Proto_Trace_V1_ArrayValue()
        list.values = [AnyValue.with { $0.stringValue = "a" }, AnyValue.with { $0.intValue = -2 }]
        var members = Opentelemetry_Proto_Trace_V1_KeyValueList()
        members.values = [keyValue("user") { $0.stringValue = "u1" }, keyValue("n") { $0.doubleValue = 1.5 }]
        span.attributes = [
            keyValue("text") { $0.stringValue = String(repeating: "x", count: 300) },
            keyValue("flag") { $0.boolValue = true },
            keyValue("negative") { $0.intValue = -42 },
            keyValue("ratio") { $0.doubleValue = 0.25 },
            keyValue("list") { $0.arrayValue = list },
            keyValue("object") { $0.kvlistValue = members },
            keyValue("blob") { $0.bytesValue = Data([0, 1, 2, 255]) },
            keyValue("unset") { _ in },
            keyValue("langwatch.span.type") { $0.stringValue = "rag" },
            keyValue("langwatch.input") { $0.stringValue = #"{"type":"text","value":"hello"}"# },
            keyValue("langwatch.span.cost") { $0.doubleValue = 0.002 },
        ]
        span.droppedAttributesCount = 3
        var event = Opentelemetry_Proto_Trace_V1_Span.Event()
        event.name = "exception"
        event.timeUnixNano = 5
        span.events = [event]
        var link = Opentelemetry_Proto_Trace_V1_Span.Link()
        link.traceID = span.traceID
        link.spanID = span.spanID
        span.links = [link]
        span.status.code = .error
        span.status.message = "boom"
        return span
    }

    /// An export whose ResourceSpans has its resource *after* its scope spans (protobuf allows any field order).
    func export(_ span: Opentelemetry_Proto_Trace_V1_Span) throws -> [UInt8] {
        var spans = Opentelemetry_Proto_Trace_V1_ResourceSpans()
        var scope = Opentelemetry_Proto_Trace_V1_ScopeSpans()
        scope.scope.name = "sdk"
        scope.spans = [span]
        spans.scopeSpans = [scope]
        var resource = Opentelemetry_Proto_Trace_V1_ResourceSpans()
        resource.resource.attributes = [keyValue("service.name") { $0.stringValue = "chat-api" }, keyValue("flag") { $0.boolValue = false }]
        let body: [UInt8] = try spans.serializedBytes() + resource.serializedBytes()
        let merged = try OTLPExportRequest(serializedBytes: [0x0A] + varint(body.count) + body)
        #expect(merged.resourceSpans.count == 1 && merged.resourceSpans[0].resource.attributes.count == 2, "one merged ResourceSpans")
        return [0x0A] + varint(body.count) + body
    }

    func varint(_ value: Int) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        while value >= 0x80 { bytes.append(UInt8(value & 0x7F) | 0x80); value >>= 7 }
        return bytes + [UInt8(value)]
    }

    @Test func everyFieldSwiftProtobufWritesIsRead() throws {
        let span = span()
        let batch = try OTLPSpans.records(protobuf: try export(span), source: "webhook")
        #expect(batch.records.count == 1 && batch.arrivedAsSpans)
        let record = batch.records[0]
        #expect(Array(batch.raw(record)) == (try span.serializedBytes() as [UInt8]), "raw is the span's own bytes")
        #expect(record.traceID?.description == "0102030405060708090a0b0c0d0e0f10")
        #expect(record.spanID?.description == "0306090c0f121518" && record.parentSpanID?.description == "050a0f14191e2328")
        #expect(record.name == "chat ✓" && record.type == .rag)
        #expect(record.startTime == 1_767_225_600_000_000_000 && record.endTime == 1_767_225_601_000_000_000)
        #expect(record.status == .error(message: "boom", stacktrace: []))
        #expect(record.input == .text("hello") && record.cost == 0.002)
        #expect(record.attributes["text"] == .string(String(repeating: "x", count: 300)))
        #expect(record.attributes["flag"] == .bool(true), "the span's own attribute wins over the resource's")
        #expect(record.attributes["negative"] == .int(-42) && record.attributes["ratio"] == .double(0.25))
        #expect(record.attributes["list"] == .array([.string("a"), .int(-2)]))
        #expect(record.attributes["object"] == .string(#"{"user":"u1","n":1.5}"#))
        #expect(record.attributes["blob"] == .string("AAEC/w=="))
        #expect(record.attributes["unset"] == .string(""))
        #expect(record.attributes["service.name"] == .string("chat-api"))
        #expect(record.attributes["langwatch.span.type"] == nil && record.attributes["langwatch.input"] == nil)
    }

    @Test func protobufAndJSONGiveTheSameRecord() throws {
        let span = span()
        let fromProtobuf = try OTLPSpans.records(protobuf: try export(span), source: "webhook").records[0]
        let json = """
            {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"chat-api"}},{"key":"flag","value":{"boolValue":false}}]},
            "scopeSpans":[{"scope":{"name":"sdk"},"spans":[{"traceId":"0102030405060708090A0B0C0D0E0F10","spanId":"0306090c0f121518","parentSpanId":"050a0f14191e2328",
            "traceState":"vendor=x","name":"chat ✓","kind":3,"startTimeUnixNano":"1767225600000000000","endTimeUnixNano":1767225601000000000,
            "attributes":[{"key":"text","value":{"stringValue":"\(String(repeating: "x", count: 300))"}},{"key":"flag","value":{"boolValue":true}},
            {"key":"negative","value":{"intValue":"-42"}},{"key":"ratio","value":{"doubleValue":0.25}},
            {"key":"list","value":{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":-2}]}}},
            {"key":"object","value":{"kvlistValue":{"values":[{"key":"user","value":{"stringValue":"u1"}},{"key":"n","value":{"doubleValue":1.5}}]}}},
            {"key":"blob","value":{"bytesValue":"AAEC/w=="}},{"key":"unset","value":{}},
            {"key":"langwatch.span.type","value":{"stringValue":"rag"}},{"key":"langwatch.input","value":{"stringValue":"{\\"type\\":\\"text\\",\\"value\\":\\"hello\\"}"}},
            {"key":"langwatch.span.cost","value":{"doubleValue":0.002}}],
            "droppedAttributesCount":3,"events":[{"name":"exception","timeUnixNano":"5"}],"status":{"code":2,"message":"boom"}}]}]}]}
            """
        let fromJSON = try OTLPSpans.records(json: Array(json.utf8), source: "webhook").records[0]
        #expect(fromJSON.traceID == fromProtobuf.traceID && fromJSON.spanID == fromProtobuf.spanID)
        #expect(fromJSON.parentSpanID == fromProtobuf.parentSpanID && fromJSON.name == fromProtobuf.name)
        #expect(fromJSON.type == fromProtobuf.type && fromJSON.status == fromProtobuf.status)
        #expect(fromJSON.startTime == fromProtobuf.startTime && fromJSON.endTime == fromProtobuf.endTime)
        #expect(fromJSON.input == fromProtobuf.input && fromJSON.cost == fromProtobuf.cost)
        #expect(fromJSON.attributes == fromProtobuf.attributes)
    }

    @Test func anAllZeroParentIsARootSpanAndAMalformedOneIsRefused() throws {
        var root = span()
        root.parentSpanID = Data(count: 8)
        #expect(try OTLPSpans.records(protobuf: try export(root), source: "webhook").records[0].parentSpanID == nil)
        root.parentSpanID = Data(count: 5)
        #expect(throws: RequestError.self) { try OTLPSpans.records(protobuf: try export(root), source: "webhook") }
        func json(parent: String) -> [UInt8] {
            Array(#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0306090c0f121518","parentSpanId":"\#(parent)"}]}]}]}"#.utf8)
        }
        #expect(try OTLPSpans.records(json: json(parent: "0000000000000000"), source: "webhook").records[0].parentSpanID == nil)
        #expect(try OTLPSpans.records(json: json(parent: "050a0f14191e2328"), source: "webhook").records[0].parentSpanID?.description == "050a0f14191e2328")
        #expect(throws: RequestError.self) { try OTLPSpans.records(json: json(parent: "05zz0f14191e2328"), source: "webhook") }
    }

    @Test(arguments: [
        ([0x0A, 0x05, 0x12, 0x03], "invalid OTLP protobuf: length 5 runs past the end of its message at byte 1"),
        ([0x0A, 0x02, 0x12, 0x09], "invalid OTLP protobuf: length 9 runs past the end of its message at byte 3"),
        ([0x0A, 0x01, 0xFF], "invalid OTLP protobuf: truncated varint at byte 2"),
        ([0x08, 0x01], "invalid OTLP protobuf: field 1 has wire type 0, expected 2 at byte 1"),
        ([0x13], "invalid OTLP protobuf: unsupported wire type 3 (field 2) at byte 1"),
        ([0x00], "invalid OTLP protobuf: invalid field number at byte 0"),
        ([0x0A, 0x04, 0x12, 0x02, 0x12, 0x00], "span 0: invalid trace id"),
    ] as [([UInt8], String)])
    func malformedBodiesAreRefusedWithTheOffset(body: [UInt8], message: String) {
        do {
            _ = try OTLPSpans.records(protobuf: body, source: "webhook")
            Issue.record("accepted a malformed body")
        } catch {
            #expect(error.message == message)
        }
    }

    @Test func aVarintMayNotRunPastTenBytes() throws {
        var reader = ProtobufReader([0x08] + [UInt8](repeating: 0xFF, count: 9) + [0x01])
        let field = try #require(try reader.next())
        #expect(try reader.varint(field) == .max)
        var long = ProtobufReader([0x08] + [UInt8](repeating: 0x80, count: 10) + [0x00])
        let tag = try #require(try long.next())
        #expect(throws: ProtobufReader.Malformed.self) { _ = try long.varint(tag) }
    }

    @Test func fixedWidthFieldsAndUnknownOnesAreSkipped() throws {
        // field 1 fixed64, field 2 fixed32 (skipped), field 3 a string.
        var reader = ProtobufReader([0x09, 1, 0, 0, 0, 0, 0, 0, 0x80, 0x15, 9, 9, 9, 9, 0x1A, 0x02, 0x68, 0x69])
        #expect(try reader.fixed64(try #require(try reader.next())) == 0x8000_0000_0000_0001)
        try reader.skip(try #require(try reader.next()))
        #expect(try reader.string(try #require(try reader.next())) == "hi")
        #expect(try reader.next() == nil)
        var truncated = ProtobufReader([0x09, 1, 2, 3])
        let field = try #require(try truncated.next())
        #expect(throws: ProtobufReader.Malformed.self) { _ = try truncated.fixed64(field) }
    }
}
