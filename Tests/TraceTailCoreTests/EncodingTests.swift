import NIOCore
import SwiftProtobuf
import Testing
import TestSupport
@testable import TraceTailCore

/// The request encoders and what they write into: every attribute kind and size, byte for byte against
/// swift-protobuf, and requests made of records from several batches.
@Suite struct EncodingTests {
    /// A record with every kind of attribute value, prefixes of one, two and three bytes, and an error status.
    func record(_ number: Int, longText: Int) -> Record {
        var record = Record(raw: 0..<0, position: SourcePosition(source: "test", offsets: 0..<1), observedTime: 1_700_000_000_000_000_000)
        record.traceID = number.isMultiple(of: 3) ? nil : TraceID(high: UInt64(number), low: ~UInt64(number))
        record.spanID = SpanID(UInt64(number + 1))
        record.parentSpanID = number.isMultiple(of: 2) ? SpanID(7) : nil
        record.name = number == 0 ? nil : "span \(number) ✓"
        record.type = number.isMultiple(of: 2) ? .llm : nil
        record.startTime = 1_700_000_000_000_000_000 + UInt64(number)
        record.cost = number == 1 ? 0.25 : nil
        record.status = number == 2 ? .error(message: String(repeating: "e", count: 200), stacktrace: []) : .ok
        record.input = .text(String(repeating: "i", count: longText))
        record.attributes = Attributes([
            ("empty", .string("")), ("", .string("no key")), ("long", .string(String(repeating: "x", count: longText))),
            ("yes", .bool(true)), ("no", .bool(false)), ("zero", .int(0)), ("negative", .int(-5)),
            ("large", .int(.max)), ("ratio", .double(-0.5)), ("nothing", .double(0)),
            ("list", .array([.string("a"), .int(1), .array([.bool(true)])])), ("labels", .array([])),
        ])
        return record
    }

    @Test(arguments: [0, 100, 20_000, 3_000_000])
    func protobufIsWhatSwiftProtobufWrites(longText: Int) async throws {
        let records = (0..<4).map { record($0, longText: longText) }
        let body = Array(buffer: OTLPProtobuf.request(RecordSelection(records), resource: [("service.name", .string("t"))], scope: OTLPScope()))
        // swift-protobuf's debug build takes seconds over megabytes: off the cooperative threads other tests need.
        let (decoded, reserialized) = try await onOwnThread {
            let decoded = try OTLPExportRequest(serializedBytes: body)
            return (decoded, try decoded.serializedBytes() as [UInt8])
        }
        #expect(reserialized == body)
        let spans = decoded.resourceSpans[0].scopeSpans[0].spans
        #expect(spans.count == 4)
        let attributes = Dictionary(spans[1].attributes.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        #expect(attributes["long"]?.stringValue.utf8.count == longText)
        #expect(attributes["negative"]?.intValue == -5)
        #expect(attributes["large"]?.intValue == .max)
        #expect(attributes["yes"]?.boolValue == true)
        #expect(attributes["ratio"]?.doubleValue == -0.5)
        #expect(attributes["empty"]?.stringValue == "" && attributes["empty"]?.value != nil)
        #expect(attributes["list"]?.arrayValue.values.count == 3)
        #expect(spans[2].status.message.count == 200)
    }

    @Test func otlpJSONCarriesEveryValueKind() throws {
        let records = (0..<4).map { record($0, longText: 3) }
        let body = Array(buffer: OTLPJSON.request(RecordSelection(records), resource: [("service.name", .string("t"))], scope: OTLPScope()))
        let json = try JSONReader.parse(body)
        let spans = try #require(json["resourceSpans"]?.items?.first?["scopeSpans"]?.items?.first?["spans"]?.items)
        #expect(spans.count == 4)
        #expect(spans[0]["traceId"] == .string("") && spans[0]["name"] == .string("") && spans[0]["parentSpanId"] == .string("0000000000000007"))
        #expect(spans[1]["traceId"] == .string("0000000000000001fffffffffffffffe") && spans[1]["parentSpanId"] == nil)
        #expect(spans[1]["name"] == .string("span 1 ✓") && spans[1]["kind"] == .int(1) && spans[2]["kind"] == .int(3))
        #expect(spans[1]["startTimeUnixNano"] == .string("1700000000000000001"))
        #expect(spans[2]["status"] == .object([("message", .string(String(repeating: "e", count: 200))), ("code", .int(2))]))
        #expect(spans[1]["status"] == .object([("code", .int(1))]))
        var values: [String: JSONValue] = [:]
        for attribute in spans[1]["attributes"]?.items ?? [] {
            if case .string(let key)? = attribute["key"], let value = attribute["value"] { values[key] = value }
        }
        #expect(values["empty"] == .object([("stringValue", .string(""))]))
        #expect(values[""] == .object([("stringValue", .string("no key"))]))
        #expect(values["negative"] == .object([("intValue", .string("-5"))]))
        #expect(values["large"] == .object([("intValue", .string("9223372036854775807"))]))
        #expect(values["yes"] == .object([("boolValue", .bool(true))]))
        #expect(values["ratio"] == .object([("doubleValue", .double(-0.5))]))
        #expect(values["list"] == .object([("arrayValue", .object([("values", .array([
            .object([("stringValue", .string("a"))]), .object([("intValue", .string("1"))]),
            .object([("arrayValue", .object([("values", .array([.object([("boolValue", .bool(true))])]))]))]),
        ]))]))]))
        #expect(values["langwatch.span.cost"] == .object([("doubleValue", .double(0.25))]))
    }

    @Test func spansAreGroupedIntoOneResourceSpansPerResourceInBothEncodings() throws {
        let podA = Resource(Attributes([("k8s.pod.name", .string("a")), ("service.name", .string("chat"))]))
        let podB = Resource(Attributes([("k8s.pod.name", .string("b"))]))
        let resources = [podA, podB, nil, podA, Resource(podB.attributes), podA] // an equal copy joins its group
        let records = resources.enumerated().map { number, resource in
            var record = record(number, longText: 1)
            record.resource = resource
            return record
        }
        // Across batches too, through the disk queue's codec (which shares equal resources again).
        let stored = try RecordCodec.decode(RecordCodec.encode(RecordBatch(records: Array(records[3...]), ack: AckToken(0))), ack: AckToken(0))
        #expect(stored.records.map { $0.resource?.attributes["k8s.pod.name"] } == [.string("a"), .string("b"), .string("a")])
        let pair = try RecordCodec.decode(RecordCodec.encode(RecordBatch(records: [records[0], records[0]], ack: AckToken(0))), ack: AckToken(0))
        #expect(pair.records[0].resource === pair.records[1].resource)
        var selection = RecordSelection(RecordBatch(records: Array(records[..<3]), ack: AckToken(0)))
        selection.append(stored, records: stored.records.indices)
        let base: [(key: String, value: AttributeValue)] = [("service.name", .string("tracetail")), ("host.name", .string("node-1"))]
        let expected: [(attributes: [String: String], spans: [UInt64])] = [
            (["service.name": "chat", "host.name": "node-1", "k8s.pod.name": "a"], [1, 4, 6]),
            (["service.name": "tracetail", "host.name": "node-1", "k8s.pod.name": "b"], [2, 5]),
            (["service.name": "tracetail", "host.name": "node-1"], [3]),
        ]

        let body = Array(buffer: OTLPProtobuf.request(selection, resource: base, scope: OTLPScope()))
        let decoded = try OTLPExportRequest(serializedBytes: body)
        #expect(try decoded.serializedBytes() as [UInt8] == body)
        #expect(decoded.resourceSpans.count == 3)
        for (group, want) in zip(decoded.resourceSpans, expected) {
            #expect(Dictionary(uniqueKeysWithValues: group.resource.attributes.map { ($0.key, $0.value.stringValue) }) == want.attributes)
            #expect(group.scopeSpans[0].spans.map { $0.spanID.reduce(0) { $0 << 8 | UInt64($1) } } == want.spans)
        }

        let json = try JSONReader.parse(Array(buffer: OTLPJSON.request(selection, resource: base, scope: OTLPScope())))
        let groups = try #require(json["resourceSpans"]?.items)
        #expect(groups.count == 3)
        for (group, want) in zip(groups, expected) {
            var attributes: [String: String] = [:]
            for item in group["resource"]?["attributes"]?.items ?? [] {
                if case .string(let key)? = item["key"], case .string(let value)? = item["value"]?["stringValue"] { attributes[key] = value }
            }
            #expect(attributes == want.attributes)
            #expect(group["scopeSpans"]?.items?.first?["spans"]?.items?.count == want.spans.count)
        }
    }

    @Test func aSelectionReadsRecordsAcrossBatchesInOrderAndSplits() {
        func batch(_ range: Range<Int>) -> RecordBatch {
            var batch = RecordBatch(ack: AckToken(0))
            for number in range {
                batch.append(Array("line \(number)".utf8), position: SourcePosition(source: "f", offsets: 0..<1), observedTime: UInt64(number))
            }
            return batch
        }
        var selection = RecordSelection()
        selection.append(batch(0..<5), records: 2..<5)
        selection.append(batch(5..<6), records: 0..<0)
        selection.append(batch(10..<14), records: 0..<4)
        #expect(selection.count == 7)
        #expect(selection.map(\.observedTime) == [2, 3, 4, 10, 11, 12, 13])
        var visited: [UInt64] = []
        selection.forEach { visited.append($0.observedTime) }
        #expect(visited == [2, 3, 4, 10, 11, 12, 13])
        let (head, tail) = selection.split(at: 4)
        #expect(head.map(\.observedTime) == [2, 3, 4, 10])
        #expect(tail.map(\.observedTime) == [11, 12, 13])
        let joined = selection.batch
        #expect(joined.records.map { joined.rawText($0) } == ["line 2", "line 3", "line 4", "line 10", "line 11", "line 12", "line 13"])
    }

    @Test func anOutputBufferGrowsAndMovesBytes() {
        var buffer = OutputBuffer(capacity: 1)
        for byte in 0..<100 { buffer.append(UInt8(byte)) }
        buffer.append("é!" as String)
        buffer.varint(300)
        buffer.fixed(0x0102, bigEndian: true)
        #expect(buffer.bytes == Array(0..<100) + [0xC3, 0xA9, 0x21, 0xAC, 0x02, 0, 0, 0, 0, 0, 0, 1, 2])
        buffer.move(from: 10, by: 3)
        #expect(buffer.count == 116 && buffer[13] == 10 && buffer[115] == 2)
        buffer.move(from: 13, by: -3)
        #expect(buffer.bytes == Array(0..<100) + [0xC3, 0xA9, 0x21, 0xAC, 0x02, 0, 0, 0, 0, 0, 0, 1, 2])
    }

    /// A body written into a NIO buffer's memory, and one that outgrows it midway and continues in its own.
    @Test(arguments: [10, 64, 65, 5_000])
    func aBodyIsWrittenStraightIntoANIOBuffer(length: Int) {
        let expected = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let body = OutputBuffer.byteBuffer(expected: 64) { output in
            for byte in expected { output.append(byte) }
        }
        #expect(Array(buffer: body) == expected)
        #expect(body.readerIndex == 0 && body.readableBytes == length)
    }

    @Test func jsonStringsEscapeWhereverTheSpecialBytesFall() throws {
        for length in [0, 1, 15, 16, 17, 31, 32, 33, 70] {
            for special in ["\"", "\\", "\n", "\u{01}", "\u{1F}", "é", "\t"] {
                for position in Set([0, length / 2, max(length - 1, 0), 16, 20]) where position <= length {
                    var text = String(repeating: "a", count: length)
                    text.insert(contentsOf: special, at: text.index(text.startIndex, offsetBy: position))
                    var writer = JSONWriter()
                    writer.string(text)
                    #expect(try JSONReader.parse(writer.bytes) == .string(text), "\(length) \(position)")
                    #expect(!writer.bytes.contains { $0 < 0x20 })
                }
            }
        }
    }

    @Test func jsonIntegersAreWrittenAsDigits() {
        var writer = JSONWriter()
        writer.array([Int64.min, -1, 0, 9, 10, 1_234_567_890, .max]) { $0.int($1) }
        #expect(writer.text == "[-9223372036854775808,-1,0,9,10,1234567890,9223372036854775807]")
    }
}
