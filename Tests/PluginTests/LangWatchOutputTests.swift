import BuiltinPlugins
@testable import LangWatchOutput
import Foundation
import Testing
import TestSupport
import TraceTailCore

/// Backfills a log file through `json → output` against the fake server (`run --once` in this process).
struct BackfillRun {
    let server: FakeLangWatch
    let root = temporaryDirectory("backfill")

    @discardableResult
    func run(lines: [String], output: String) async throws -> Pipeline {
        try FileSystem.createDirectory(root + "/logs")
        try (lines.joined(separator: "\n") + "\n").write(toFile: root + "/logs/app.log", atomically: true, encoding: .utf8)
        let text = """
            pipelines:
              app:
                input: { type: file, include: ["\(root)/logs/*.log"] }
                parsers: [ { type: json, trace_id_from: request_id } ]
                outputs: [ \(output) ]
            """
        let config = try ConfigLoader.load(text: text, file: "t.yaml", registry: BuiltinPlugins.registry(), environment: [:])
        let pipeline = try Pipeline(spec: config.pipelines[0], dataDirectory: root + "/data", logger: .init(label: "test"), once: true)
        try await pipeline.run()
        return pipeline
    }

    func deadLetters() -> [JSONValue] {
        guard let bytes = try? FileSystem.read(root + "/data/app/dead-letter-outputs[0].ndjson") else { return [] }
        return bytes.split(separator: UInt8(ascii: "\n")).compactMap { try? JSONReader.parse($0) }
    }

    static func withServer(_ body: (BackfillRun) async throws -> Void) async throws {
        let server = FakeLangWatch()
        try await server.start()
        defer { server.stop() }
        try await body(BackfillRun(server: server))
    }

    var langwatch: String {
        "{ type: langwatch, endpoint: \"\(server.url)\", api_key: \(FakeLangWatch.apiKey), trace_quiet: 100ms, initial_backoff: 10ms, max_backoff: 50ms }"
    }

    static func sampleLog() throws -> [String] {
        try String(contentsOfFile: repositoryRoot() + "/examples/logs/llm-app.jsonl", encoding: .utf8)
            .split(separator: "\n").map(String.init)
    }
}

@Suite(.serialized) struct LangWatchOutputTests {
    @Test func tracesGoOneARequestWithEverySpanFieldInPlace() async throws {
        try await BackfillRun.withServer { run in
            try await run.run(lines: BackfillRun.sampleLog(), output: run.langwatch)
            #expect(run.deadLetters().isEmpty, "\(run.deadLetters())")
            // A request per trace once it was quiet; the tool span, held for its end line, follows its trace.
            #expect(Set(run.server.collectorTraces.compactMap { $0["trace_id"]?.text }).count == 3)
            #expect(run.server.requests.allSatisfy {
                $0.headers["x-auth-token"] == FakeLangWatch.apiKey && $0.headers["authorization"] == "Bearer \(FakeLangWatch.apiKey)"
                    && $0.headers["content-type"] == "application/json" && $0.headers["content-encoding"] == nil
            })
            let chat = try #require(run.server.collectorTraces.first { $0["spans"].map { if case .array(let s) = $0 { s.count == 2 } else { false } } == true && $0["metadata"]?["user_id"] != nil })
            #expect(chat["metadata"]?["user_id"] == .string("u-42"))
            #expect(chat["metadata"]?["thread_id"] == .string("th-7"))
            #expect(chat["metadata"]?["customer_id"] == .string("acme"))
            let llm = try #require(run.server.collectorSpans.first { $0["name"] == .string("chat gpt-4o-mini") })
            #expect(llm["type"] == .string("llm"))
            #expect(llm["model"] == .string("gpt-4o-mini"))
            #expect(llm["vendor"] == .string("openai"))
            #expect(llm["parent_id"] == .string("00f067aa0ba902b7"))
            #expect(llm["metrics"]?["prompt_tokens"] == .int(18))
            #expect(llm["metrics"]?["completion_tokens"] == .int(1))
            #expect(llm["metrics"]?["cost"] == .double(0.000004))
            #expect(llm["params"]?["temperature"] == .double(0.2))
            #expect(llm["params"]?["max_tokens"] == .int(256))
            #expect(llm["timestamps"]?["started_at"] == .int(1_767_225_600_100))
            #expect(llm["timestamps"]?["finished_at"] == .int(1_767_225_601_400))
            let chain = try #require(run.server.collectorSpans.first { $0["name"] == .string("POST /chat") })
            #expect(chain["input"] == .object([("type", .string("text")), ("value", .string("What is 2+2?"))]))
            #expect(chain["model"] == nil, "model and vendor go on llm spans only")
            let tool = try #require(run.server.collectorSpans.first { $0["name"] == .string("send_email") })
            #expect(tool["error"]?["message"] == .string("SMTP timeout"))
            #expect(tool["error"]?["stacktrace"] == .array([.string("SMTPError: timeout"), .string("  at send (mail.py:12)")]))
            let retrieval = try #require(run.server.collectorTraces.first { trace in
                if case .array(let labels)? = trace["metadata"]?["labels"] { return labels == [.string("kb"), .string("prod")] }
                return false
            })
            #expect(retrieval["trace_id"] != nil)
        }
    }

    @Test func chatMessagesAreSentAsChatMessages() async throws {
        try await BackfillRun.withServer { run in
            let line = #"{"ts":"2026-01-01T00:00:00Z","msg":"chat","span_id":"a3ce929d0e0e4736","request_id":"r1","model":"gpt-4o","input":{"messages":[{"role":"user","content":"hi"}]},"output":[{"role":"assistant","content":"hello"}]}"#
            try await run.run(lines: [line], output: run.langwatch)
            let span = try #require(run.server.collectorSpans.first)
            #expect(span["output"]?["type"] == .string("chat_messages"))
            #expect(span["output"]?["value"] == .array([.object([("role", .string("assistant")), ("content", .string("hello"))])]))
            #expect(span["input"]?["type"] == .string("json"))
        }
    }

    @Test func aTraceOfMoreThan200SpansIsSentInPiecesOf200() async throws {
        try await BackfillRun.withServer { run in
            let lines = (0..<450).map { #"{"msg":"step \#($0)","request_id":"big","span_id":"s\#($0)","ts":1767225600}"# }
            try await run.run(lines: lines, output: run.langwatch)
            #expect(run.server.collectorSpans.count == 450)
            #expect(run.server.collectorTraces.allSatisfy { if case .array(let spans)? = $0["spans"] { spans.count <= 200 } else { false } })
            let ids = run.server.collectorSpans.compactMap { span -> String? in if case .string(let id)? = span["span_id"] { id } else { nil } }
            #expect(Set(ids).count == 450)
        }
    }

    @Test func tooManySpansSplitsAndFailedIngestIsRetriedAndPlanLimitsAreFinal() async throws {
        try await BackfillRun.withServer { run in
            run.server.inject([
                .status(429, body: #"{"message":"Too many spans, maximum of 200 per trace"}"#),
                .status(500, body: #"{"message":"Failed to ingest all 4 spans, please retry"}"#),
            ], on: "/api/collector")
            let lines = (0..<4).map { #"{"msg":"step \#($0)","request_id":"t","span_id":"s\#($0)"}"# }
            try await run.run(lines: lines, output: run.langwatch)
            #expect(run.server.collectorSpans.count == 4)
            #expect(run.server.requests.map(\.status) == [429, 500, 200, 200])
        }
        try await BackfillRun.withServer { run in
            run.server.inject([.status(402, body: #"{"error":"ERR_PLAN_LIMIT"}"#)], on: "/api/collector")
            try await run.run(lines: [#"{"msg":"x","request_id":"t"}"#], output: run.langwatch)
            #expect(run.server.requests.count == 1)
            #expect(run.deadLetters().first?["status"] == .int(402))
        }
    }

    @Test func theResourceOfATraceIsItsMetadata() throws {
        var record = Record(raw: 0..<0, position: SourcePosition(source: "t", offsets: 0..<1), observedTime: 1_767_225_600_000_000_000)
        record.resource = Resource(Attributes([("k8s.pod.name", .string("chat-a")), ("k8s.container.restart_count", .int(2))]))
        let body = try JSONReader.parse(CollectorPayload.encode([record, record]))
        #expect(body["metadata"]?["k8s.pod.name"] == .string("chat-a"))
        #expect(body["metadata"]?["k8s.container.restart_count"] == .int(2))
    }

    @Test func timestampsAreAlwaysThirteenDigits() {
        #expect(CollectorPayload.milliseconds(1_767_225_600_123_456_789, fallback: 0) == 1_767_225_600_123)
        #expect(CollectorPayload.milliseconds(5_000_000_000, fallback: 1_767_225_600_000_000_000) == 1_767_225_600_000, "seconds-sized times are replaced")
    }
}
