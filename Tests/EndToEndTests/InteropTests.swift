import Foundation
import SwiftProtobuf
import Testing
import TestSupport
import TraceTailCore

/// The Python that `.ci/setup` installs Phoenix and the SDKs for (Tests/Interop/requirements.txt).
let interopPython = repositoryRoot() + "/.build-python/venv/bin/python"

/// Whether the interop software is there: a user's clone that has not run `.ci/setup` skips these tests, saying
/// why; CI (`CI` set) runs them — and fails if it is missing.
let interopAvailable = FileManager.default.isExecutableFile(atPath: interopPython)
    || ProcessInfo.processInfo.environment["CI"] != nil

/// TraceTail against real software: Arize Phoenix as the OTLP backend of the `otlp` output, and the OpenTelemetry
/// and LangWatch Python SDKs as clients of the webhook's relay routes. Every process is bounded by a timeout.
@Suite(.serialized, .enabled(if: interopAvailable, "Phoenix and the Python SDKs are not installed (.build-python/venv, made by .ci/setup): interop tests skipped"))
struct InteropTests {
    static let token = "interop-token-0123456789"

    @Test func theInteropSoftwareIsInstalled() {
        #expect(FileManager.default.isExecutableFile(atPath: interopPython), "\(interopPython) is missing: run .ci/setup")
    }

    // MARK: - Phoenix

    /// How the config asks the `otlp` output for the conventions Phoenix reads besides the GenAI ones
    /// (`openinference.span.kind`, `input.value`/`output.value`; issue 18, item 4).
    static let phoenixConventions = "conventions: [genai, langwatch, openinference]"

    /// The spans of examples/logs/llm-app.jsonl as its lines state them: span id (the log's text), parent, request,
    /// and the kind Phoenix must show (the two lines of `tool-1` are one span).
    static let exampleSpans: [(id: String, parent: String?, request: String, kind: String)] = [
        ("00f067aa0ba902b7", nil, "req-7f3a", "CHAIN"),                   // span_type: chain
        ("a3ce929d0e0e4736", "00f067aa0ba902b7", "req-7f3a", "LLM"),      // operation: chat, a model
        ("agent-1", nil, "req-9c1e", "AGENT"),                            // span_type: agent
        ("retrieve-1", "agent-1", "req-9c1e", "RETRIEVER"),               // operation: retrieval
        ("tool-1", "agent-1", "req-9c1e", "TOOL"),                        // span_type: tool
        ("b7ad6b7169203331", nil, "req-b2", "LLM"),                       // a model and tokens
    ]

    /// A log's span id as TraceTail sends it: hex as it is, other text hashed.
    static func spanID(_ text: String) -> String {
        (SpanID(hex: text) ?? SpanID(hashing: Array(text.utf8))).description
    }

    /// Starts Phoenix on free ports of 127.0.0.1 with its data in `directory`, and waits until it answers.
    func startPhoenix(_ directory: String) async throws -> (process: RunningProcess, url: String) {
        let port = try freePort()
        let phoenix = try RunningProcess(["-m", "phoenix.server.main", "serve"], environment: [
            "PHOENIX_WORKING_DIR": directory, "PHOENIX_HOST": "127.0.0.1", "PHOENIX_PORT": "\(port)",
            "PHOENIX_GRPC_PORT": "\(try freePort())", "PHOENIX_TELEMETRY_ENABLED": "false",
            "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
        ], executable: interopPython)
        let url = "http://127.0.0.1:\(port)"
        // Phoenix migrates its database and loads its model prices before it answers: tens of seconds on a busy machine.
        try await eventuallyAsync(timeout: .seconds(300), "Phoenix to answer on \(url)") {
            guard phoenix.process.isRunning else { return true }
            return (try? await httpGet(url + "/healthz"))?.status == 200
        }
        try #require(phoenix.process.isRunning, "Phoenix exited: \(phoenix.stderr.suffix(3000))")
        return (phoenix, url)
    }

    @Test func phoenixShowsTheExampleAsConnectedTracesWithKindsMessagesTokensAndCost() async throws {
        let root = temporaryDirectory()
        let (phoenix, phoenixURL) = try await startPhoenix(root + "/phoenix")
        defer { phoenix.signal(SIGKILL) }
        let project = "tracetail-example"
        let config = root + "/config.yaml"
        try """
            service: { data_dir: \(root)/data, grace_period: 30s }
            pipelines:
              example:
                input: { type: stdin }
                parsers: [ { type: json } ]
                outputs:
                  - { type: otlp, endpoint: "\(phoenixURL)/v1/traces", encoding: protobuf, \(Self.phoenixConventions), resource: { openinference.project.name: \(project) } }
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let log = try String(contentsOfFile: repositoryRoot() + "/examples/logs/llm-app.jsonl", encoding: .utf8)
        let run = try await runTracetail(["run", "--once", "-c", config], stdin: log)
        try #require(run.status == 0 && run.stderr.contains("records_undeliverable=0"), "\(run.stderr)")

        // Phoenix ingests asynchronously: wait until every span can be read back.
        var spans: [JSONValue] = []
        try await eventuallyAsync("the example's spans in Phoenix") {
            guard let reply = try? await httpGet(phoenixURL + "/v1/projects/\(project)/spans?limit=100"), reply.status == 200,
                  let data = (try? JSONReader.parse(Array(reply.body.utf8)))?["data"]?.items else { return false }
            spans = data
            return data.count >= Self.exampleSpans.count
        }
        var byID: [String: JSONValue] = [:]
        for span in spans { byID[span["context"]?["span_id"]?.text ?? ""] = span }
        #expect(Set(byID.keys) == Set(Self.exampleSpans.map { Self.spanID($0.id) }), "the example's six spans, no other")

        var traceOfRequest: [String: String] = [:]
        for expected in Self.exampleSpans {
            let span = try #require(byID[Self.spanID(expected.id)], "span \(expected.id)")
            #expect(span["parent_id"]?.text == expected.parent.map(Self.spanID), "the parent of \(expected.id)")
            let trace = span["context"]?["trace_id"]?.text ?? ""
            #expect(traceOfRequest[expected.request, default: trace] == trace, "\(expected.id) is in the one trace of \(expected.request)")
            traceOfRequest[expected.request] = trace
            #expect(span["span_kind"]?.text == expected.kind, "\(expected.id) shows as \(span["span_kind"]?.text ?? "?"), the log says \(expected.kind)")
        }
        #expect(Set(traceOfRequest.values).count == 3, "one trace per request")

        // The messages as the log gives them: the chain's question and answer, the tool's input.
        func attribute(_ id: String, _ key: String) -> JSONValue? { byID[Self.spanID(id)]?["attributes"]?[key] }
        #expect(attribute("00f067aa0ba902b7", "input.value")?.text?.contains("What is 2+2?") == true, "the chain's input in Phoenix")
        #expect(attribute("00f067aa0ba902b7", "output.value")?.text?.contains("4") == true, "the chain's output in Phoenix")
        #expect(attribute("tool-1", "input.value")?.text?.contains("mail the answer to u-7") == true, "the tool's input in Phoenix")

        // Tokens and cost: Phoenix's token counts and its cost view, and the cost the log states on the span.
        for (id, prompt, completion, cost) in [("a3ce929d0e0e4736", 18, 1, 0.000004), ("b7ad6b7169203331", 1200, 350, 0.0123)] {
            #expect(attribute(id, "llm.token_count.prompt") == .int(Int64(prompt)), "\(id): prompt tokens in Phoenix")
            #expect(attribute(id, "llm.token_count.completion") == .int(Int64(completion)), "\(id): completion tokens in Phoenix")
            let costs = byID[Self.spanID(id)]?["attributes"].flatMap { attributes -> [Double]? in
                guard case .object(let members) = attributes else { return nil }
                return members.filter { $0.key.contains("cost") }.compactMap(\.value.number)
            } ?? []
            #expect(costs.contains(cost), "\(id): the log's cost \(cost) on the span in Phoenix")
            let globalID = byID[Self.spanID(id)]?["id"]?.text ?? ""
            let query = #"{"query":"{ node(id: \"\#(globalID)\") { ... on Span { costSummary { total { cost tokens } } } } }"}"#
            let reply = try await httpPost(phoenixURL + "/graphql", query, headers: ["Content-Type": "application/json"])
            let total = (try? JSONReader.parse(Array(reply.body.utf8)))?["data"]?["node"]?["costSummary"]?["total"]
            #expect(total?["tokens"]?.number == Double(prompt + completion), "\(id): Phoenix's token total: \(reply.body)")
            if id == "a3ce929d0e0e4736" { // a model Phoenix has prices for
                #expect((total?["cost"]?.number ?? 0) > 0, "\(id): Phoenix's cost: \(reply.body)")
            }
        }
        phoenix.signal(SIGTERM)
        _ = try? await phoenix.wait(timeout: .seconds(30))
    }

    // MARK: - Python SDKs as clients of the relay

    /// Starts the binary with a webhook whose spans go to `server`'s `/v1/traces`.
    func startRelay(_ root: String, to server: FakeLangWatch) async throws -> (process: RunningProcess, url: String) {
        let config = root + "/config.yaml"
        try """
            service: { data_dir: \(root)/data, grace_period: 2s }
            pipelines:
              relay:
                input: { type: webhook, listen: 127.0.0.1:0, auth: { bearer_tokens: ["\(Self.token)"] } }
                outputs:
                  - { type: otlp, endpoint: "\(server.url)/v1/traces", headers: { X-Auth-Token: "\(FakeLangWatch.apiKey)" }, batch_wait: 20ms }
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let process = try RunningProcess(["run", "-c", config])
        return (process, "http://127.0.0.1:\(try await webhookPort(process))")
    }

    /// Runs a client script of Tests/Interop and returns the spans it says it finished.
    func runClient(_ script: String, _ arguments: [String]) async throws -> [JSONValue] {
        let client = try RunningProcess([repositoryRoot() + "/Tests/Interop/" + script] + arguments, executable: interopPython)
        client.closeInput()
        let result = try await client.wait(timeout: .seconds(120))
        try #require(result.status == 0, "\(script) failed: \(result.stderr.suffix(3000))")
        return try #require(try JSONReader.parse(Array(result.stdout.utf8)).items, "\(script) printed \(result.stdout)")
    }

    /// Every span the server accepted on `/v1/traces`, by span id (hex), decoded with swift-protobuf.
    func received(_ server: FakeLangWatch) -> [String: Opentelemetry_Proto_Trace_V1_Span] {
        var spans: [String: Opentelemetry_Proto_Trace_V1_Span] = [:]
        for request in server.requests where request.path == "/v1/traces" && request.status == 200 {
            guard let export = try? OTLPExportRequest(serializedBytes: request.body) else { continue }
            for resourceSpans in export.resourceSpans {
                for scopeSpans in resourceSpans.scopeSpans {
                    for span in scopeSpans.spans { spans[Self.hex(span.spanID)] = span }
                }
            }
        }
        return spans
    }

    static func hex(_ data: Data) -> String { data.map { String(format: "%02x", $0) }.joined() }

    /// An AnyValue as the JSON the client scripts print attributes as.
    static func json(_ value: Opentelemetry_Proto_Trace_V1_AnyValue) -> JSONValue {
        switch value.value {
        case .stringValue(let text)?: return .string(text)
        case .boolValue(let flag)?: return .bool(flag)
        case .intValue(let number)?: return .int(number)
        case .doubleValue(let number)?: return .double(number)
        case .arrayValue(let array)?: return .array(array.values.map(json))
        case .kvlistValue(let list)?: return .object(list.values.map { ($0.key, json($0.value)) })
        case .bytesValue(let bytes)?: return .string(bytes.base64EncodedString())
        case nil: return .null
        }
    }

    /// Deprecated GenAI names a relay may send under their current name (issue 18, item 2).
    static let currentNames = ["gen_ai.usage.prompt_tokens": "gen_ai.usage.input_tokens",
                               "gen_ai.usage.completion_tokens": "gen_ai.usage.output_tokens"]

    /// Whether an attribute arrived as sent: the same value, JSON text compared as the JSON it holds (a relay may
    /// write `{"a": 1}` as `{"a":1}`), an integral double the same as the integer.
    static func same(_ sent: JSONValue, _ got: JSONValue?) -> Bool {
        guard let got else { return false }
        if sent == got { return true }
        if case .string(let a) = sent, case .string(let b) = got,
           let left = try? JSONReader.parse(Array(a.utf8)), let right = try? JSONReader.parse(Array(b.utf8)) {
            return same(left, right)
        }
        if let a = sent.number, let b = got.number { return a == b }
        if case .array(let a) = sent, case .array(let b) = got { return a.count == b.count && zip(a, b).allSatisfy { same($0, $1) } }
        if case .object(let a) = sent, case .object(let b) = got {
            return a.count == b.count && a.allSatisfy { member in same(member.value, b.first { $0.key == member.key }?.value) }
        }
        return false
    }

    /// Checks that every span a client finished arrived downstream with its ids, parent, name, times, kind (client
    /// or not), status, every attribute (its own and its resource's) and every event.
    func expectArrivedIntact(_ sent: [JSONValue], _ server: FakeLangWatch, _ client: String) async throws {
        try await eventually("\(client)'s \(sent.count) spans downstream") { received(server).count >= sent.count }
        let spans = received(server)
        #expect(spans.count == sent.count, "\(client): \(spans.count) spans arrived, \(sent.count) sent")
        for span in sent {
            let id = span["span_id"]?.text ?? ""
            let name = span["name"]?.text ?? ""
            guard let got = spans[id] else {
                Issue.record("\(client): span \(name) (\(id)) did not arrive")
                continue
            }
            #expect(Self.hex(got.traceID) == span["trace_id"]?.text && got.name == name, "\(client) \(name): trace id and name")
            #expect((got.parentSpanID.isEmpty ? nil : Self.hex(got.parentSpanID)) == span["parent_id"]?.text, "\(client) \(name): parent")
            #expect(span["start"] == .int(Int64(bitPattern: got.startTimeUnixNano)) && span["end"] == .int(Int64(bitPattern: got.endTimeUnixNano)),
                    "\(client) \(name): times")
            if span["kind"] == .int(2) { #expect(got.kind == .client, "\(client) \(name): a CLIENT span stays one") } // the SDK's SpanKind.CLIENT
            #expect(Int64(got.status.code.rawValue) == (span["status"]?["code"]?.number).map(Int64.init), "\(client) \(name): status code")
            if span["status"]?["code"] == .int(2) {
                #expect(got.status.message == span["status"]?["message"]?.text, "\(client) \(name): status message")
            }
            var attributes: [String: JSONValue] = [:]
            for keyValue in got.attributes { attributes[keyValue.key] = Self.json(keyValue.value) }
            for source in ["attributes", "resource"] {
                guard case .object(let members)? = span[source] else { continue }
                for (key, value) in members {
                    let arrived = attributes[key] ?? Self.currentNames[key].flatMap { attributes[$0] }
                    #expect(Self.same(value, arrived), "\(client) \(name): \(source) \(key) sent \(value), arrived \(arrived.map { "\($0)" } ?? "nothing")")
                }
            }
            for event in span["events"]?.items ?? [] {
                let match = got.events.first { $0.name == event["name"]?.text && event["time"] == .int(Int64(bitPattern: $0.timeUnixNano)) }
                #expect(match != nil, "\(client) \(name): event \(event["name"]?.text ?? "") arrived")
                let eventAttributes: [(key: String, value: JSONValue)] = if case .object(let members)? = event["attributes"] { members } else { [] }
                for (key, value) in eventAttributes {
                    let arrived = match?.attributes.first { $0.key == key }.map { Self.json($0.value) }
                    #expect(Self.same(value, arrived), "\(client) \(name): event attribute \(key)")
                }
            }
        }
    }

    @Test(arguments: ["protobuf", "json", "json-proto-names"])
    func theOpenTelemetryPythonSDKsSpansArriveIntact(encoding: String) async throws {
        let server = FakeLangWatch()
        try await server.start()
        defer { server.stop() }
        let (relay, url) = try await startRelay(temporaryDirectory(), to: server)
        let sent = try await runClient("otel_client.py", [url, Self.token, encoding])
        #expect(sent.count == 3 && sent.contains { !($0["events"]?.items?.isEmpty ?? true) }, "three spans, with events")
        try await expectArrivedIntact(sent, server, "OpenTelemetry SDK (\(encoding))")
        relay.signal(SIGTERM)
        _ = try await relay.wait()
    }

    /// The LangWatch SDK exports OTLP/HTTP protobuf to `/api/otel/v1/traces` (it no longer uses `/api/collector`).
    @Test func theLangWatchPythonSDKsSpansArriveIntact() async throws {
        let server = FakeLangWatch()
        try await server.start()
        defer { server.stop() }
        let (relay, url) = try await startRelay(temporaryDirectory(), to: server)
        let sent = try await runClient("langwatch_client.py", [url, Self.token])
        #expect(sent.count == 3, "the trace's root, the LLM call and the tool")
        try await expectArrivedIntact(sent, server, "LangWatch SDK")
        let relayed = relay.stderr
        relay.signal(SIGTERM)
        _ = try await relay.wait()
        #expect(!relayed.contains(Self.token), "the API key is not logged")
    }
}
