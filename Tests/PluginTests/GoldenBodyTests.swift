import BuiltinPlugins
import Foundation
@testable import LangWatchOutput
import SwiftProtobuf
import Testing
import TestSupport

/// Request bodies for the realistic log, byte for byte. `TRACETAIL_BLESS=1 swift test --filter GoldenBodyTests`
/// rewrites the golden files after an intended change (review the diff).
@Suite struct GoldenBodyTests {
    let root = repositoryRoot()

    func records() throws -> [Record] {
        let lines = try String(contentsOfFile: root + "/examples/logs/llm-app.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
        var records = batch(lines)
        for parser in try parsers("[ { type: json, trace_id_from: request_id } ]") { parser.parse(&records) }
        SpanDefaults.apply(to: &records)
        return records.records
    }

    func check(_ bytes: [UInt8], against name: String) throws {
        let path = root + "/examples/golden/" + name
        var text = String(decoding: bytes, as: UTF8.self)
        text += "\n"
        if ProcessInfo.processInfo.environment["TRACETAIL_BLESS"] != nil {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == golden)
    }

    @Test func otlpJSONRequest() throws {
        let body = Array(buffer: OTLPJSON.request(RecordSelection(try records()), resource: [("service.name", .string("llm-app"))], scope: OTLPScope(name: "tracetail", version: "golden")))
        try check(body, against: "otlp-request.json")
        // The protobuf encoding carries the same: decode it and compare span by span.
        let encoded = Array(buffer: OTLPProtobuf.request(RecordSelection(try records()), resource: [("service.name", .string("llm-app"))], scope: OTLPScope(name: "tracetail", version: "golden")))
        let decoded = try OTLPExportRequest(serializedBytes: encoded)
        // Written directly, it is byte for byte what swift-protobuf writes for the same message (canonical:
        // fields in order, minimal length prefixes).
        #expect(try decoded.serializedBytes() as [UInt8] == encoded)
        #expect(decoded.resourceSpans[0].resource.attributes.map(\.key) == ["service.name"])
        #expect(decoded.resourceSpans[0].scopeSpans[0].scope.version == "golden")
        let json = try JSONReader.parse(body)
        guard case .array(let resources)? = json["resourceSpans"], case .array(let scopes)? = resources[0]["scopeSpans"],
              case .array(let spans)? = scopes[0]["spans"] else { Issue.record("no spans in the JSON"); return }
        let protoSpans = decoded.resourceSpans[0].scopeSpans[0].spans
        #expect(protoSpans.count == spans.count)
        for (proto, span) in zip(protoSpans, spans) {
            #expect(span["traceId"] == .string(proto.traceID.map { String(format: "%02x", $0) }.joined()))
            #expect(span["spanId"] == .string(proto.spanID.map { String(format: "%02x", $0) }.joined()))
            #expect(span["name"] == .string(proto.name))
            #expect(span["kind"] == .int(Int64(proto.kind.rawValue)))
            #expect(span["startTimeUnixNano"] == .string(String(proto.startTimeUnixNano)))
            #expect(span["endTimeUnixNano"] == .string(String(proto.endTimeUnixNano)))
            #expect(span["status"]?["code"] == .int(Int64(proto.status.code.rawValue)))
            guard case .array(let attributes)? = span["attributes"] else { Issue.record("no attributes"); continue }
            #expect(attributes.count == proto.attributes.count)
            for (attribute, keyValue) in zip(attributes, proto.attributes) {
                #expect(attribute["key"] == .string(keyValue.key))
                #expect(FakeLangWatch.text(attribute["value"]!) == FakeLangWatch.text(keyValue.value))
            }
        }
    }

    @Test func collectorRequest() throws {
        let all = try records()
        let trace = all.filter { $0.traceID == all[0].traceID }
        #expect(trace.count == 2)
        try check(CollectorPayload.encode(trace), against: "collector-request.json")
    }
}
