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
        event.attributes = [keyValue("exception.type") { $0.stringValue = "TimeoutError" }, keyValue("exception.escaped") { $0.boolValue = false }]
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
        #expect(record.events == [SpanEvent(name: "exception", time: 5, attributes: Attributes([("exception.type", .string("TimeoutError")), ("exception.escaped", .bool(false))]))])
    }

    /// `span()` and `export(_:)` as OTLP/JSON writes them (hex ids, integer enums), with 64-bit integers both as
    /// strings and as numbers.
    static let exportJSON = """
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
            "droppedAttributesCount":3,"events":[{"name":"exception","timeUnixNano":"5","attributes":[{"key":"exception.type","value":{"stringValue":"TimeoutError"}},{"key":"exception.escaped","value":{"boolValue":false}}]}],"status":{"code":2,"message":"boom"}}]}]}]}
            """

    /// The first field in which two records differ, or nil.
    func difference(_ a: Record, _ b: Record) -> String? {
        if a.traceID != b.traceID || a.spanID != b.spanID || a.parentSpanID != b.parentSpanID { return "ids" }
        if a.name != b.name || a.type != b.type || a.status != b.status { return "name, type or status" }
        if a.startTime != b.startTime || a.endTime != b.endTime { return "times" }
        if a.input != b.input || a.output != b.output || a.cost != b.cost { return "input, output or cost" }
        if a.attributes != b.attributes { return "attributes \(Array(a.attributes)) vs \(Array(b.attributes))" }
        if a.events != b.events { return "events \(a.events) vs \(b.events)" }
        return nil
    }

    @Test func protobufAndJSONGiveTheSameRecord() throws {
        let span = span()
        let fromProtobuf = try OTLPSpans.records(protobuf: try export(span), source: "webhook").records[0]
        let fromJSON = try OTLPSpans.records(json: Array(Self.exportJSON.utf8), source: "webhook").records[0]
        #expect(difference(fromJSON, fromProtobuf) == nil)
    }

    /// `value` with object keys renamed to proto field names (`traceId` → `trace_id`) where `rename` says so,
    /// given each key's depth and position.
    func protoNames(_ value: JSONValue, depth: Int = 0, rename: (Int, Int) -> Bool) -> JSONValue {
        switch value {
        case .array(let items): return .array(items.map { protoNames($0, depth: depth + 1, rename: rename) })
        case .object(let members):
            return .object(members.enumerated().map { index, member in
                let key = rename(depth, index) ? member.key.reduce(into: "") { name, character in
                    name += character.isUppercase ? "_" + character.lowercased() : String(character)
                } : member.key
                return (key, protoNames(member.value, depth: depth + 1, rename: rename))
            })
        default: return value
        }
    }

    func text(_ value: JSONValue) -> String {
        var writer = JSONWriter()
        writer.value(value)
        return writer.text
    }

    @Test func snakeCaseAndMixedFieldNamesAreReadAtEveryLevel() throws {
        let camel = try OTLPSpans.records(json: Array(Self.exportJSON.utf8), source: "webhook").records[0]
        let document = try JSONReader.parse(Array(Self.exportJSON.utf8))
        let snake = text(protoNames(document) { _, _ in true })
        #expect(snake.contains(#""resource_spans""#) && snake.contains(#""start_time_unix_nano""#) && snake.contains(#""kvlist_value""#))
        #expect(!snake.contains("Value\"") && !snake.contains("Id\""))
        let mixed = text(protoNames(document) { depth, index in (depth + index) % 2 == 0 })
        for body in [snake, mixed] {
            let batch = try OTLPSpans.records(json: Array(body.utf8), source: "webhook")
            #expect(batch.records.count == 1)
            #expect(difference(batch.records[0], camel) == nil, "\(body)")
        }
        // The issue's two cases: a snake_case export, and a snake_case value in a camelCase body.
        let issue = #"{"resource_spans":[{"scope_spans":[{"spans":[{"trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174","name":"chat","kind":"SPAN_KIND_CLIENT","start_time_unix_nano":1767225600000000000,"end_time_unix_nano":"1767225601000000000","attributes":[{"key":"gen_ai.request.model","value":{"string_value":"gpt-4o"}}],"status":{"code":"STATUS_CODE_OK"}}]}]}]}"#
        let record = try #require(try OTLPSpans.records(json: Array(issue.utf8), source: "webhook").records.first)
        #expect(record.traceID?.description == "5b8efff798038103d269b633813fc60c" && record.spanID?.description == "eee19b7ec3c1b174")
        #expect(record.name == "chat" && record.type == .llm && record.status == .ok)
        #expect(record.startTime == 1_767_225_600_000_000_000 && record.endTime == 1_767_225_601_000_000_000)
        #expect(record.attributes["gen_ai.request.model"] == .string("gpt-4o"))
        let camelBody = #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","attributes":[{"key":"gen_ai.request.model","value":{"string_value":"gpt-4o"}}]}]}]}]}"#
        #expect(try OTLPSpans.records(json: Array(camelBody.utf8), source: "webhook").records[0].attributes["gen_ai.request.model"] == .string("gpt-4o"))
    }

    @Test func aValueOfAnUnknownKindIsKeptAsItsJSONText() throws {
        let body = #"""
            {"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","attributes":[
             {"key":"future","value":{"decimalValue":"1.25"}},{"key":"typo","value":{"stringvalue":"gpt-4o"}},
             {"key":"two","value":{"stringValue":"a","intValue":"1"}},{"key":"bare","value":"gpt-4o"},{"key":"number","value":7},
             {"key":"wrong type","value":{"boolValue":"yes"}},{"key":"empty","value":{}},{"key":"null","value":null},
             {"key":"double as text","value":{"double_value":"Infinity"}},{"key":"int as number","value":{"int_value":-3}},
             {"key":"nested","value":{"array_value":{"values":[{"string_value":"a"},{"mystery":1}]}}}]}]}]}]}
            """#
        let record = try OTLPSpans.records(json: Array(body.utf8), source: "webhook").records[0]
        #expect(record.attributes["future"] == .string(#"{"decimalValue":"1.25"}"#))
        #expect(record.attributes["typo"] == .string(#"{"stringvalue":"gpt-4o"}"#))
        #expect(record.attributes["two"] == .string(#"{"stringValue":"a","intValue":"1"}"#))
        #expect(record.attributes["bare"] == .string("gpt-4o") && record.attributes["number"] == .int(7))
        #expect(record.attributes["wrong type"] == .string(#"{"boolValue":"yes"}"#))
        #expect(record.attributes["empty"] == .string("") && record.attributes["null"] == .string(""))
        #expect(record.attributes["double as text"] == .double(.infinity) && record.attributes["int as number"] == .int(-3))
        #expect(record.attributes["nested"] == .array([.string("a"), .string(#"{"mystery":1}"#)]))
    }

    @Test(arguments: [
        (#"{"resourcespans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c"}]}]}]}"#,
         "no span read: expected {'resourceSpans' (or 'resource_spans'): [{'scopeSpans' (or 'scope_spans'): [{'spans': [...]}]}]}, found 'resourcespans'"),
        (#"{"resourceSpans":[{"scope_span":[{"spans":[]}]}]}"#, "found 'resourceSpans[0].scope_span'"),
        (#"{"resourceSpans":[{"scopeSpans":[{"span":[{}]}]}]}"#, "found 'resourceSpans[0].scopeSpans[0].span'"),
        (#"{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}]}"#, "found 'spans'"),
        (#"{"resourceSpans":[7]}"#, "found resourceSpans[0] is a 7"),
        (#"{"resourceSpans":{"scopeSpans":[]}}"#, "'resourceSpans' (or 'resource_spans') must be an array"),
        (#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","kind":"CLIENT"}]}]}]}"#,
         "span 0: 'kind' must be one of SPAN_KIND_UNSPECIFIED, SPAN_KIND_INTERNAL, SPAN_KIND_SERVER, SPAN_KIND_CLIENT, SPAN_KIND_PRODUCER, SPAN_KIND_CONSUMER or its number, not 'CLIENT'"),
        (#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","start_time_unix_nano":"soon"}]}]}]}"#,
         #"span 0: 'startTimeUnixNano' (or 'start_time_unix_nano') must be an integer (a number or a decimal string), not "soon""#),
        (#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"trace_id":"5b8e","spanId":"eee19b7ec3c1b174"}]}]}]}"#, "span 0: invalid trace id"),
        (#"[{"resourceSpans":[]}]"#, "expected a JSON object with 'resourceSpans' (or 'resource_spans')"),
    ])
    func aBodyWithNothingReadableIsRefusedSayingWhatWasExpected(body: String, message: String) {
        do {
            let batch = try OTLPSpans.records(json: Array(body.utf8), source: "webhook")
            Issue.record("accepted \(body): \(batch.records.count) records")
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test func anEmptyExportIsAcceptedWithNoRecord() throws {
        for body in ["{}", #"{"resourceSpans":[]}"#, #"{"resource_spans":[{"scope_spans":[{"spans":[]}]}]}"#, #"{"resourceSpans":null}"#] {
            #expect(try OTLPSpans.records(json: Array(body.utf8), source: "webhook").records.isEmpty)
        }
    }

    /// A random export as an SDK could build it: every kind of value, ids that may be missing or all-zero, times
    /// over the whole fixed64 range, enums past the known values.
    func randomExport(_ random: inout SeededRandom) -> OTLPExportRequest {
        func bytes(_ count: Int) -> Data { Data((0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) | (random.chance(90) ? 1 : 0) }) }
        func text() -> String { ["", "chat", "gpt-4o", "résumé ✓", "a\"b\\c\n", "\u{1F600}", String(random.next(), radix: 36)][random.below(7)] }
        func randomValue(depth: Int) -> AnyValue {
            var value = AnyValue()
            switch random.below(depth > 1 ? 6 : 8) {
            case 0: value.stringValue = text()
            case 1: value.boolValue = random.chance(50)
            case 2: value.intValue = random.chance(50) ? Int64(random.between(-5...5)) : Int64(bitPattern: random.next())
            case 3: value.doubleValue = [0, -0.0, 1.5, -2e-9, 1e300, .infinity, -.infinity, Double(random.between(-9...9))][random.below(8)]
            case 4: value.bytesValue = bytes(random.below(6))
            case 5: break // unset
            case 6: value.arrayValue.values = (0..<random.below(4)).map { _ in randomValue(depth: depth + 1) }
            default: value.kvlistValue.values = (0..<random.below(4)).map { _ in keyValue(text()) { $0 = randomValue(depth: depth + 1) } }
            }
            return value
        }
        var request = OTLPExportRequest()
        for _ in 0..<random.between(1...2) {
            var resourceSpans = Opentelemetry_Proto_Trace_V1_ResourceSpans()
            resourceSpans.resource.attributes = (0..<random.below(3)).map { _ in keyValue("service." + text()) { $0 = randomValue(depth: 0) } }
            for _ in 0..<random.between(1...2) {
                var scope = Opentelemetry_Proto_Trace_V1_ScopeSpans()
                scope.scope.name = text()
                for _ in 0..<random.between(1...3) {
                    var span = Opentelemetry_Proto_Trace_V1_Span()
                    span.traceID = bytes(16)
                    span.spanID = bytes(8)
                    if random.chance(60) { span.parentSpanID = random.chance(20) ? Data(count: 8) : bytes(8) }
                    span.name = text()
                    span.kind = .init(rawValue: random.below(7)) ?? .unspecified
                    span.startTimeUnixNano = random.chance(80) ? 1_767_225_600_000_000_000 + UInt64(random.below(1 << 30)) : random.next()
                    span.endTimeUnixNano = random.chance(10) ? 0 : span.startTimeUnixNano &+ UInt64(random.below(1 << 30))
                    span.attributes = (0..<random.below(6)).map { _ in keyValue(text()) { $0 = randomValue(depth: 0) } }
                    if random.chance(30) { span.attributes.append(keyValue("langwatch.span.type") { $0.stringValue = ["llm", "tool", "rag", "nonsense"][random.below(4)] }) }
                    if random.chance(30) { span.attributes.append(keyValue("langwatch.span.cost") { $0.doubleValue = 0.25 }) }
                    if random.chance(30) {
                        span.events = (0..<random.between(1...2)).map { _ in
                            .with { event in
                                event.name = text()
                                event.timeUnixNano = random.next()
                                event.attributes = (0..<random.below(3)).map { _ in keyValue(text()) { $0 = randomValue(depth: 0) } }
                            }
                        }
                    }
                    if random.chance(50) {
                        span.status.code = .init(rawValue: random.below(4)) ?? .unset
                        span.status.message = text()
                    }
                    scope.spans.append(span)
                }
                resourceSpans.scopeSpans.append(scope)
            }
            request.resourceSpans.append(resourceSpans)
        }
        return request
    }

    /// What swift-protobuf's JSON encoder writes — base64 ids, enum names (or numbers), 64-bit integers as strings,
    /// lowerCamelCase or (`preserveProtoFieldNames`) the proto names — reads as the same records as the protobuf.
    @Test func swiftProtobufJSONInEitherSpellingReadsAsItsProtobuf() async throws {
        let failure = try await onOwnThread { () throws -> String? in
            for seed in PropertyCheck.seeds(count: 300) {
                var random = SeededRandom(seed: seed)
                let request = randomExport(&random)
                let expected = try OTLPSpans.records(protobuf: try request.serializedBytes(), source: "webhook").records
                var options = JSONEncodingOptions()
                options.preserveProtoFieldNames = random.chance(50)
                options.alwaysPrintEnumsAsInts = random.chance(50)
                let json = try request.jsonString(options: options)
                let failure: String?
                do {
                    let records = try OTLPSpans.records(json: Array(json.utf8), source: "webhook").records
                    failure = records.count != expected.count ? "\(records.count) records, not \(expected.count)"
                        : zip(records, expected).lazy.compactMap { difference($0, $1) }.first
                } catch let error as RequestError {
                    failure = error.message
                }
                if let failure { return "seed \(seed) (replay: TRACETAIL_SEED=\(seed)): \(failure) for \(json)" }
            }
            return nil
        }
        if let failure { Issue.record(Comment(rawValue: failure)) }
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
