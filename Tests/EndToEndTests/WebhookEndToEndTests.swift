import Crypto
import Foundation
import SwiftProtobuf
import Testing
import TestSupport
import TraceTailCore

/// Real HTTP clients against the running binary's `webhook` input, delivering to a fake LangWatch.
@Suite(.serialized) struct WebhookEndToEndTests {
    static let token = "wh-token-0123456789"
    static let hmacSecret = "hmac-shared-secret-42"

    /// Starts the binary with one webhook pipeline; `outputs` is YAML for the outputs list.
    func start(_ root: String, outputs: String, input extra: String = "", environment: [String: String] = [:]) throws -> RunningProcess {
        let config = root + "/config.yaml"
        try """
            service: { data_dir: \(root)/data, grace_period: 2s }
            pipelines:
              relay:
                input:
                  type: webhook
                  listen: 127.0.0.1:0
                  auth: { bearer_tokens: ["\(Self.token)"], hmac_secret: "\(Self.hmacSecret)" }
                  \(extra)
                parsers: [ { type: json } ]
                outputs:
            \(outputs)
            """.write(toFile: config, atomically: true, encoding: .utf8)
        return try RunningProcess(["run", "-c", config], environment: environment)
    }

    func otlpOutput(_ server: FakeLangWatch, extra: String = "") -> String {
        "      - { type: otlp, endpoint: \"\(server.url)/api/otel/v1/traces\", headers: { X-Auth-Token: \"\(FakeLangWatch.apiKey)\" }, batch_wait: 20ms, initial_backoff: 20ms, max_backoff: 100ms\(extra) }"
    }

    let auth = ["Authorization": "Bearer \(Self.token)"]

    @Test func everyIngestContentTypeBecomesRecords() async throws {
        let server = FakeLangWatch()
        try await server.start()
        defer { server.stop() }
        let root = temporaryDirectory()
        let process = try start(root, outputs: otlpOutput(server))
        let url = "http://127.0.0.1:\(try await webhookPort(process))/ingest"
        let json = auth.merging(["Content-Type": "application/json"]) { $1 }

        var reply = try await httpPost(url, #"{"message":"object","model":"gpt-4o","prompt_tokens":7}"#, headers: json)
        #expect(reply.status == 200 && reply.body == #"{"accepted":1,"delivered":true}"#, "\(reply)")
        reply = try await httpPost(url, #"[{"message":"array 1"},{"message":"array 2"}]"#, headers: json)
        #expect(reply.status == 200 && reply.body.contains(#""accepted":2"#))
        reply = try await httpPost(url, "{\"message\":\"ndjson 1\"}\n\n{\"message\":\"ndjson 2\"}\n",
                                   headers: auth.merging(["Content-Type": "application/x-ndjson"]) { $1 })
        #expect(reply.status == 200 && reply.body.contains(#""accepted":2"#))
        reply = try await httpPost(url, "plain line one\nplain line two\n", headers: auth.merging(["Content-Type": "text/plain; charset=utf-8"]) { $1 })
        #expect(reply.status == 200 && reply.body.contains(#""accepted":2"#))
        let gzipped = try Gzip.compress(Array(#"{"message":"gzipped"}"#.utf8))
        reply = try await httpPost(url, gzipped, headers: json.merging(["Content-Encoding": "gzip"]) { $1 })
        #expect(reply.status == 200)

        let names: Set = ["object", "array 1", "array 2", "ndjson 1", "ndjson 2", "gzipped"]
        try await eventually("spans") { names.isSubset(of: Set(server.spans.map(\.name))) }
        let object = try #require(server.spans.first { $0.name == "object" })
        #expect(object.attributes["gen_ai.request.model"] == "gpt-4o")
        #expect(server.spans.contains { $0.name == "plain line one" } && server.spans.contains { $0.name == "plain line two" })
        #expect(server.spans.count == 8)
        process.signal(SIGTERM)
        #expect(try await process.wait().status == 0)
    }

    @Test func refusalsSayWhyWithTheRightStatus() async throws {
        let server = FakeLangWatch()
        try await server.start()
        defer { server.stop() }
        let root = temporaryDirectory()
        let process = try start(root, outputs: otlpOutput(server), input: "max_body_bytes: 2KiB")
        let url = "http://127.0.0.1:\(try await webhookPort(process))/ingest"
        let body = #"{"message":"signed"}"#
        let json = ["Content-Type": "application/json"]

        #expect(try await httpPost(url, body, headers: json).status == 401)
        #expect(try await httpPost(url, body, headers: json.merging(["Authorization": "Bearer wrong-token"]) { $1 }).status == 401)
        let signature = HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: Array(Self.hmacSecret.utf8)))
        let hex = signature.map { String(format: "%02x", $0) }.joined()
        #expect(try await httpPost(url, body, headers: json.merging(["X-Signature-256": "sha256=\(hex)"]) { $1 }).status == 200)
        let forged = try await httpPost(url, body + " ", headers: json.merging(["X-Signature-256": "sha256=\(hex)"]) { $1 })
        #expect(forged.status == 401)

        let authed = json.merging(auth) { $1 }
        let big = try await httpPost(url, #"{"message":""# + String(repeating: "x", count: 3000) + #""}"#, headers: authed)
        #expect(big.status == 413 && big.body.contains("2048"))
        let bomb = try Gzip.compress(Array((#"{"message":""# + String(repeating: "y", count: 100_000) + #""}"#).utf8))
        #expect(try await httpPost(url, bomb, headers: authed.merging(["Content-Encoding": "gzip"]) { $1 }).status == 413)
        let xml = try await httpPost(url, "<a/>", headers: auth.merging(["Content-Type": "application/xml"]) { $1 })
        #expect(xml.status == 415 && xml.body.contains("application/xml"))
        #expect(try await httpPost(url, body, headers: authed.merging(["Content-Encoding": "br"]) { $1 }).status == 415)
        let malformed = try await httpPost(url, #"{"message": "unterminated"#, headers: authed)
        #expect(malformed.status == 400 && malformed.body.contains("invalid JSON"), "\(malformed)")
        let badLine = try await httpPost(url, "{\"a\":1}\n{oops}\n", headers: auth.merging(["Content-Type": "application/x-ndjson"]) { $1 })
        #expect(badLine.status == 400 && badLine.body.contains("line 2"), "\(badLine)")
        #expect(try await httpPost(url, [1, 2, 3], headers: authed.merging(["Content-Encoding": "gzip"]) { $1 }).status == 400)
        let notObjects = try await httpPost(url, "[1,2]", headers: authed)
        #expect(notObjects.status == 400 && notObjects.body.contains("item 0"))

        try await eventually("the signed record") { server.spans.contains { $0.name == "signed" } }
        #expect(server.spans.count == 1, "only the one admitted, well-formed request gets through")
        #expect(!process.stderr.contains(Self.token) && !process.stderr.contains(Self.hmacSecret))
        process.signal(SIGTERM)
        _ = try await process.wait()
    }

    /// The payloads of the LangWatch REST guide (WIRE.md §1.6, V1 and V2).
    static let collectorV1 = #"""
        {"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","spans":[
         {"span_id":"00f067aa0ba902b7","type":"chain","name":"POST /chat","input":{"type":"text","value":"What is 2+2?"},"output":{"type":"text","value":"4"},"timestamps":{"started_at":1767225600000,"finished_at":1767225601500}},
         {"span_id":"a3ce929d0e0e4736","parent_id":"00f067aa0ba902b7","type":"llm","name":"chat gpt-4o-mini","vendor":"openai","model":"gpt-4o-mini",
          "input":{"type":"chat_messages","value":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is 2+2?"}]},
          "output":{"type":"chat_messages","value":[{"role":"assistant","content":"4"}]},
          "params":{"temperature":0.2,"stream":true},"metrics":{"prompt_tokens":18,"completion_tokens":1,"cost":0.000004},
          "timestamps":{"started_at":1767225600100,"first_token_at":1767225600700,"finished_at":1767225601400}}],
         "metadata":{"user_id":"u-42","thread_id":"th-7","customer_id":"acme","labels":["shipper","prod"],"host":"web-3"}}
        """#
    static let collectorV2 = #"""
        {"trace_id":"5b8efff798038103d269b633813fc60c","spans":[
         {"id":"b7ad6b7169203331","type":"rag","name":"retrieve","input":{"type":"text","value":"refund policy"},
          "contexts":[{"document_id":"kb-12","chunk_id":3,"content":"Refunds within 30 days."}],"timestamps":{"started_at":1767225600000,"finished_at":1767225600040}},
         {"span_id":"c8be7c827a314442","parent_id":"b7ad6b7169203331","type":"tool","name":"send_email","input":{"type":"json","value":{"to":"a@example.com"}},
          "error":{"message":"SMTP timeout","stacktrace":["SMTPError: timeout"]},"timestamps":{"started_at":1767225600050,"finished_at":1767225605050}}],
         "evaluations":[{"evaluation_id":"ev-5b8e-1","name":"answer_relevance","passed":true,"score":0.92,"timestamps":{"started_at":1767225606000,"finished_at":1767225606200}}]}
        """#

    /// Every field of `sent` is in `got` with the same value (`got` may add empty `params`/`metrics`).
    func assertContains(_ got: JSONValue?, _ sent: JSONValue, _ path: String) {
        switch sent {
        case .object(let members):
            for (key, value) in members {
                let name = key == "id" ? "span_id" : key // the collector's legacy name
                assertContains(got?[name], value, path + "." + name)
            }
        case .array(let items):
            guard case .array(let gotItems)? = got, gotItems.count == items.count else {
                Issue.record("\(path): expected \(items.count) items, got \(String(describing: got))")
                return
            }
            for (index, item) in items.enumerated() { assertContains(gotItems[index], item, "\(path)[\(index)]") }
        default:
            #expect(got == sent, "\(path)")
        }
    }

    @Test func aCollectorPayloadIsRelayedWithEveryFieldIntact() async throws {
        let server = FakeLangWatch()
        try await server.start()
        defer { server.stop() }
        let root = temporaryDirectory()
        let process = try start(root, outputs: "      - { type: langwatch, endpoint: \"\(server.url)\", api_key: \"\(FakeLangWatch.apiKey)\", trace_quiet: 50ms }")
        let base = "http://127.0.0.1:\(try await webhookPort(process))"
        // As the REST guide's curl sends it: X-Auth-Token would be LangWatch's; the sidecar wants its own token.
        for payload in [Self.collectorV1, Self.collectorV2] {
            let reply = try await httpPost(base + "/api/collector", payload, headers: auth.merging(["Content-Type": "application/json"]) { $1 })
            #expect(reply.status == 200 && reply.body.contains("Trace received"), "\(reply)")
        }
        try await eventually("both traces") { server.collectorTraces.count >= 2 }
        for payload in [Self.collectorV1, Self.collectorV2] {
            let sent = try JSONReader.parse(Array(payload.utf8))
            let got = try #require(server.collectorTraces.first { $0["trace_id"] == sent["trace_id"] })
            assertContains(got["spans"], try #require(sent["spans"]), "spans")
            if let metadata = sent["metadata"] { assertContains(got["metadata"], metadata, "metadata") }
            if let evaluations = sent["evaluations"] { assertContains(got["evaluations"], evaluations, "evaluations") }
        }
        let invalid = try await httpPost(base + "/api/collector", #"{"trace_id":"t","spans":[{"span_id":"s","type":"llm-call","timestamps":{"started_at":1767225600000,"finished_at":1767225600001}}]}"#,
                                         headers: auth.merging(["Content-Type": "application/json"]) { $1 })
        #expect(invalid.status == 400 && invalid.body.contains("spans[0]"), "\(invalid)")
        process.signal(SIGTERM)
        _ = try await process.wait()
    }

    @Test func anOTLPExportArrivesIntactInProtobufAndJSON() async throws {
        let server = FakeLangWatch()
        try await server.start()
        defer { server.stop() }
        let root = temporaryDirectory()
        let process = try start(root, outputs: otlpOutput(server))
        let base = "http://127.0.0.1:\(try await webhookPort(process))"

        var span = Opentelemetry_Proto_Trace_V1_Span()
        span.traceID = Data((1...16).map { UInt8($0) })
        span.spanID = Data((1...8).map { UInt8($0 * 3) })
        span.parentSpanID = Data((1...8).map { UInt8($0 * 5) })
        span.name = "chat gpt-4o"
        span.kind = .client
        span.startTimeUnixNano = 1_767_225_600_000_000_000
        span.endTimeUnixNano = 1_767_225_601_000_000_000
        func attribute(_ key: String, _ set: (inout Opentelemetry_Proto_Trace_V1_AnyValue) -> Void) -> Opentelemetry_Proto_Trace_V1_KeyValue {
            var keyValue = Opentelemetry_Proto_Trace_V1_KeyValue()
            keyValue.key = key
            set(&keyValue.value)
            return keyValue
        }
        span.attributes = [
            attribute("gen_ai.request.model") { $0.stringValue = "gpt-4o" },
            attribute("gen_ai.usage.input_tokens") { $0.intValue = 42 },
            attribute("gen_ai.request.temperature") { $0.doubleValue = 0.5 },
            attribute("gen_ai.request.stream") { $0.boolValue = true },
        ]
        var resourceSpans = Opentelemetry_Proto_Trace_V1_ResourceSpans()
        resourceSpans.resource.attributes = [attribute("service.name") { $0.stringValue = "chat-api" }]
        var scope = Opentelemetry_Proto_Trace_V1_ScopeSpans()
        scope.spans = [span]
        resourceSpans.scopeSpans = [scope]
        var request = OTLPExportRequest()
        request.resourceSpans = [resourceSpans]

        let protobuf = try await httpPost(base + "/v1/traces", try request.serializedBytes(), headers: auth.merging(["Content-Type": "application/x-protobuf"]) { $1 })
        #expect(protobuf.status == 200 && protobuf.headers["content-type"] == "application/x-protobuf")
        let json = #"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"chat-api"}}]},"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f11","spanId":"0a0b0c0d0e0f1011","name":"embed","kind":1,"startTimeUnixNano":"1767225600000000000","endTimeUnixNano":"1767225600500000000","attributes":[{"key":"tokens","value":{"intValue":"9"}}],"status":{"code":2,"message":"boom"}}]}]}]}"#
        let jsonReply = try await httpPost(base + "/api/otel/v1/traces", json, headers: auth.merging(["Content-Type": "application/json"]) { $1 })
        #expect(jsonReply.status == 200 && jsonReply.body == "{}")

        try await eventually("both spans") { server.spans.count >= 2 }
        let chat = try #require(server.spans.first { $0.name == "chat gpt-4o" })
        #expect(chat.traceID == "0102030405060708090a0b0c0d0e0f10" && chat.spanID == "0306090c0f121518" && chat.kind == 3)
        #expect(chat.attributes["gen_ai.request.model"] == "gpt-4o")
        #expect(chat.attributes["gen_ai.usage.input_tokens"] == #"{"intValue":"42"}"#)
        #expect(chat.attributes["gen_ai.request.temperature"] == #"{"doubleValue":0.5}"#)
        #expect(chat.attributes["gen_ai.request.stream"] == #"{"boolValue":true}"#)
        #expect(chat.attributes["service.name"] == "chat-api")
        let embed = try #require(server.spans.first { $0.name == "embed" })
        #expect(embed.spanID == "0a0b0c0d0e0f1011" && embed.attributes["tokens"] == #"{"intValue":"9"}"#)
        #expect(embed.attributes["error.message"] == "boom")
        process.signal(SIGTERM)
        _ = try await process.wait()
    }

    /// What a protobuf JSON parser reads arrives: proto field names, mixed spellings, enum names, base64 ids, values
    /// of unknown kinds kept as JSON text; a body from which nothing can be read is a 400 that says what was expected.
    /// The collector relay keeps values of other kinds than it expects the same way.
    @Test func theRelaysReadWhatAProtobufJSONParserReadsAndRefuseWhatTheyCannot() async throws {
        let server = FakeLangWatch()
        try await server.start()
        defer { server.stop() }
        let root = temporaryDirectory()
        let process = try start(root, outputs: otlpOutput(server))
        let base = "http://127.0.0.1:\(try await webhookPort(process))"
        let json = auth.merging(["Content-Type": "application/json"]) { $1 }

        let snake = #"{"resource_spans":[{"resource":{"attributes":[{"key":"service.name","value":{"string_value":"chat-api"}}]},"scope_spans":[{"spans":[{"trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174","parent_span_id":"00f067aa0ba902b7","name":"snake","kind":"SPAN_KIND_CLIENT","start_time_unix_nano":1767225600000000000,"end_time_unix_nano":"1767225601000000000","attributes":[{"key":"gen_ai.request.model","value":{"string_value":"gpt-4o"}},{"key":"gen_ai.usage.input_tokens","value":{"int_value":42}},{"key":"tags","value":{"array_value":{"values":[{"string_value":"a"},{"bool_value":true}]}}},{"key":"user","value":{"kvlist_value":{"values":[{"key":"id","value":{"string_value":"u1"}}]}}},{"key":"blob","value":{"bytes_value":"AAEC/w=="}}],"status":{"code":"STATUS_CODE_ERROR","message":"boom"}}]}]}]}"#
        let mixed = #"{"resourceSpans":[{"scope_spans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","span_id":"6e0c63257de34c92","name":"mixed","startTimeUnixNano":"1767225600000000000","attributes":[{"key":"gen_ai.request.model","value":{"string_value":"gpt-4o"}},{"key":"future","value":{"decimalValue":"1.25"}}]}]}]}]}"#
        var span = Opentelemetry_Proto_Trace_V1_Span()
        span.traceID = Data((1...16).map { UInt8($0) })
        span.spanID = Data((1...8).map { UInt8($0 * 3) })
        span.name = "swift-protobuf"
        span.kind = .server
        span.attributes = [.with { $0.key = "n"; $0.value.intValue = -7 }]
        var request = OTLPExportRequest()
        request.resourceSpans = [.with { $0.scopeSpans = [.with { $0.spans = [span] }] }]
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        let encoded = try request.jsonString(options: options)
        #expect(encoded.contains(#""span_id":"AwYJDA8SFRg=""#), "\(encoded)")
        for body in [snake, mixed, encoded] {
            let reply = try await httpPost(base + "/v1/traces", body, headers: json)
            #expect(reply.status == 200, "\(reply)")
        }
        let garbage = try await httpPost(base + "/v1/traces", #"{"data":{"spans":[{"name":"lost"}]}}"#, headers: json)
        #expect(garbage.status == 400 && garbage.body.contains("no span read: expected {'resourceSpans' (or 'resource_spans')") && garbage.body.contains("found 'data'"), "\(garbage)")
        let badKind = try await httpPost(base + "/api/otel/v1/traces", snake.replacingOccurrences(of: "SPAN_KIND_CLIENT", with: "CLIENT"), headers: json)
        #expect(badKind.status == 400 && badKind.body.contains("'kind' must be one of SPAN_KIND_UNSPECIFIED"), "\(badKind)")

        let collector = #"{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","spans":[{"span_id":"00f067aa0ba902b7","type":"llm","name":42,"model":{"id":"gpt-4o"},"error":"SMTP timeout","timestamps":{"started_at":1767225600000,"finished_at":1767225601500}}],"metadata":{"user_id":7,"labels":"prod"},"expected_output":{"answer":4}}"#
        #expect(try await httpPost(base + "/api/collector", collector, headers: json).status == 200)
        let badMetrics = try await httpPost(base + "/api/collector", collector.replacingOccurrences(of: #""type":"llm","#, with: #""type":"llm","metrics":[1],"#), headers: json)
        #expect(badMetrics.status == 400 && badMetrics.body.contains("spans[0]: 'metrics' must be an object"), "\(badMetrics)")

        try await eventually("four spans") { server.spans.count >= 4 }
        let snakeSpan = try #require(server.spans.first { $0.name == "snake" })
        #expect(snakeSpan.traceID == "5b8efff798038103d269b633813fc60c" && snakeSpan.spanID == "eee19b7ec3c1b174" && snakeSpan.kind == 3)
        #expect(snakeSpan.attributes["gen_ai.request.model"] == "gpt-4o" && snakeSpan.attributes["gen_ai.usage.input_tokens"] == #"{"intValue":"42"}"#)
        #expect(snakeSpan.attributes["tags"] == #"{"arrayValue":{"values":[{"stringValue":"a"},{"boolValue":true}]}}"#)
        #expect(snakeSpan.attributes["user"] == #"{"id":"u1"}"# && snakeSpan.attributes["blob"] == "AAEC/w==")
        #expect(snakeSpan.attributes["error.message"] == "boom" && snakeSpan.attributes["service.name"] == "chat-api")
        let mixedSpan = try #require(server.spans.first { $0.name == "mixed" })
        #expect(mixedSpan.spanID == "6e0c63257de34c92" && mixedSpan.attributes["gen_ai.request.model"] == "gpt-4o")
        #expect(mixedSpan.attributes["future"] == #"{"decimalValue":"1.25"}"#)
        let encodedSpan = try #require(server.spans.first { $0.name == "swift-protobuf" })
        #expect(encodedSpan.traceID == "0102030405060708090a0b0c0d0e0f10" && encodedSpan.spanID == "0306090c0f121518")
        #expect(encodedSpan.attributes["n"] == #"{"intValue":"-7"}"#)
        let collected = try #require(server.spans.first { $0.name == "42" })
        #expect(collected.attributes["gen_ai.request.model"] == #"{"id":"gpt-4o"}"# && collected.attributes["error.message"] == "SMTP timeout")
        #expect(collected.attributes["langwatch.user.id"] == "7" && collected.attributes["langwatch.labels"] == #"["prod"]"#)
        #expect(collected.attributes["langwatch.expected_output"] == #"{"answer":4}"#)
        #expect(server.spans.count == 4 && !server.spans.contains { $0.name == "lost" })
        process.signal(SIGTERM)
        _ = try await process.wait()
    }

    @Test func aFullQueueAnswers503WithRetryAfterAndRetriedRecordsAllArrive() async throws {
        let server = try await FakeLangWatch.down()
        defer { server.stop() }
        let root = temporaryDirectory()
        let process = try start(root, outputs: otlpOutput(server), input: "queue: { max_bytes: 64KiB }\n      max_body_bytes: 8KiB")
        let url = "http://127.0.0.1:\(try await webhookPort(process))/ingest"
        let headers = auth.merging(["Content-Type": "application/json"]) { $1 }
        let padding = String(repeating: "p", count: 2000)
        var refused: [Int] = []
        var accepted = 0
        for n in 0..<60 {
            let reply = try await httpPost(url, #"{"message":"backlog \#(n)","padding":"\#(padding)"}"#, headers: headers)
            if reply.status == 503 {
                #expect(reply.headers["retry-after"] == "1" && reply.body.contains("full"))
                refused.append(n)
            } else {
                #expect(reply.status == 200)
                accepted += 1
            }
        }
        #expect(!refused.isEmpty && accepted > 0, "the 64 KiB queue fills: \(accepted) accepted")
        server.clearFaults()
        // The client retries what was refused, honouring Retry-After.
        for n in refused {
            while try await httpPost(url, #"{"message":"backlog \#(n)","padding":"\#(padding)"}"#, headers: headers).status == 503 {
                try await Task.sleep(for: .seconds(1))
            }
        }
        let expected = Set((0..<60).map { "backlog \($0)" })
        try await eventually("every record") { expected.isSubset(of: Set(server.spans.map(\.name))) }
        #expect(Set(server.spans.map(\.spanID)).count == 60)
        process.signal(SIGTERM)
        _ = try await process.wait()
    }

    @Test func acknowledgedRecordsSurviveKill9AndArriveOncePerID() async throws {
        let server = try await FakeLangWatch.down()
        defer { server.stop() }
        let root = temporaryDirectory()
        let first = try start(root, outputs: otlpOutput(server))
        let url = "http://127.0.0.1:\(try await webhookPort(first))/ingest"
        let headers = auth.merging(["Content-Type": "application/x-ndjson"]) { $1 }
        for request in 0..<20 {
            let body = (0..<5).map { #"{"message":"kill \#(request * 5 + $0)"}"# }.joined(separator: "\n")
            #expect(try await httpPost(url, body, headers: headers).status == 200)
        }
        try await eventually("delivery attempts") { server.requests.count >= 2 }
        first.signal(SIGKILL)
        _ = try await first.wait()
        #expect(server.spans.isEmpty)

        // A fresh endpoint for the restart: the first server may still be answering requests the killed process
        // sent (unacknowledged, so replayed: a duplicate there would be at-least-once, not a lost acknowledgement).
        let healthy = FakeLangWatch()
        try await healthy.start()
        defer { healthy.stop() }
        let second = try start(root, outputs: otlpOutput(healthy))
        let expected = Set((0..<100).map { "kill \($0)" })
        try await eventually("replayed records") { expected.isSubset(of: Set(healthy.spans.map(\.name))) }
        try await Task.sleep(for: .milliseconds(300))
        #expect(healthy.spans.count == 100, "each acknowledged record once")
        #expect(Set(healthy.spans.map(\.spanID)).count == 100)
        #expect(second.stderr.contains("disk queue recovered") && second.stderr.contains("replaying=20"))
        second.signal(SIGTERM)
        #expect(try await second.wait().status == 0)
    }

    @Test func ackDeliveredWaitsForTheOutputs() async throws {
        let server = FakeLangWatch()
        try await server.start()
        defer { server.stop() }
        server.inject([.delay(.milliseconds(400))], on: "/api/otel")
        let root = temporaryDirectory()
        let process = try start(root, outputs: otlpOutput(server), input: "ack: delivered")
        let url = "http://127.0.0.1:\(try await webhookPort(process))/ingest"
        let reply = try await httpPost(url, #"{"message":"delivered first"}"#, headers: auth.merging(["Content-Type": "application/json"]) { $1 })
        #expect(reply.status == 200 && reply.body.contains(#""delivered":true"#))
        #expect(server.spans.contains { $0.name == "delivered first" }, "the reply came after the output's request")
        process.signal(SIGTERM)
        _ = try await process.wait()
    }
}

/// `buffer: disk` on an output and on stdin: an outage or a kill -9 loses nothing.
@Suite(.serialized) struct DiskBufferEndToEndTests {
    /// A config in `root` (one per endpoint: a restart goes to a fresh one) of one pipeline from `input` to an
    /// OTLP output at `server` with short retries and `outputExtra` (e.g. its disk buffer).
    func config(_ root: String, input: String, _ server: FakeLangWatch, outputExtra: String = "") throws -> String {
        let config = root + "/config-\(server.port).yaml"
        try """
            service: { data_dir: \(root)/data, grace_period: 1s }
            pipelines:
              app:
                input: \(input)
                outputs:
                  - { type: otlp, endpoint: "\(server.url)/api/otel/v1/traces", headers: { X-Auth-Token: "\(FakeLangWatch.apiKey)" }, batch_wait: 20ms, initial_backoff: 20ms, max_backoff: 50ms\(outputExtra) }
            """.write(toFile: config, atomically: true, encoding: .utf8)
        return config
    }

    @Test func anOutputsDiskBufferOutlastsAnOutageAndAKill() async throws {
        let server = try await FakeLangWatch.down()
        defer { server.stop() }
        let root = temporaryDirectory()
        let logs = LogWriter(directory: root + "/logs")
        logs.lines(0..<200, to: "app.log")
        let input = #"{ type: file, include: ["\#(logs.directory)/*.log"], poll_interval: 50ms, checkpoint_interval: 50ms }"#
        let buffer = ", buffer: { type: disk, max_bytes: 8MiB }"
        let first = try RunningProcess(["run", "-c", try config(root, input: input, server, outputExtra: buffer)])
        // The records are settled once on disk, so the file's checkpoint moves on while the endpoint is down.
        let size = try #require(try FileManager.default.attributesOfItem(atPath: logs.path("app.log"))[.size] as? Int)
        try await eventually("a checkpoint past every line") {
            (try? String(contentsOfFile: root + "/data/app/checkpoints-input.json", encoding: .utf8))?.contains(#""offset":\#(size)"#) == true
        }
        first.signal(SIGKILL)
        _ = try await first.wait()
        #expect(server.spans.isEmpty)

        // A fresh endpoint for the restart (see acknowledgedRecordsSurviveKill9AndArriveOncePerID): the first one
        // may still answer a request the killed process sent, a legitimate at-least-once duplicate.
        let healthy = FakeLangWatch()
        try await healthy.start()
        defer { healthy.stop() }
        let second = try RunningProcess(["run", "-c", try config(root, input: input, healthy, outputExtra: buffer)])
        try await eventually("every line") { Set(healthy.spans.map(\.spanID)).count == 200 }
        second.signal(SIGTERM)
        #expect(try await second.wait().status == 0)
        #expect(healthy.spans.count == 200, "once each: the file is not re-read, the buffer is")
    }

    @Test func stdinWithADiskBufferDeliversAfterARestart() async throws {
        let server = try await FakeLangWatch.down()
        defer { server.stop() }
        let root = temporaryDirectory()
        let input = "{ type: stdin, buffer: disk }"
        let first = try RunningProcess(["run", "-c", try config(root, input: input, server)])
        first.write((0..<50).map { "piped line \($0)" }.joined(separator: "\n") + "\n")
        try await eventually("delivery attempts") { server.requests.count >= 2 }
        first.signal(SIGKILL)
        _ = try await first.wait()

        // A fresh endpoint for the restart (see acknowledgedRecordsSurviveKill9AndArriveOncePerID).
        let healthy = FakeLangWatch()
        try await healthy.start()
        defer { healthy.stop() }
        let second = try await runTracetail(["run", "--once", "-c", try config(root, input: input, healthy)]) // nothing new on stdin: the queue drains
        #expect(second.status == 0, "\(second.stderr)")
        #expect(Set(healthy.spans.map(\.name)) == Set((0..<50).map { "piped line \($0)" }))
        #expect(healthy.spans.count == 50)
    }
}
