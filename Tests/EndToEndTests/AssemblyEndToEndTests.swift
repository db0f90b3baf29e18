import Foundation
import Testing
import TestSupport
import TraceTailCore

/// Trace assembly through the real binary: trees from span and parent ids logged in any order, one span from a
/// start line and an end line, all-zero ids as none, and the same ids when the lines are read again.
@Suite(.serialized) struct AssemblyEndToEndTests {
    /// The spans the console printed as NDJSON, by name.
    func spans(_ stdout: String) -> [String: JSONValue] {
        var byName: [String: JSONValue] = [:]
        for line in stdout.split(separator: "\n") {
            guard let span = try? JSONReader.parse(Array(line.utf8)), let name = span["name"]?.text else { continue }
            byName[name] = span
        }
        return byName
    }

    func config(in directory: String, input: String, output: String = "{ type: console, format: json }") throws -> String {
        let path = directory + "/config.yaml"
        try """
            service: { data_dir: \(directory)/data }
            pipelines:
              app:
                input: \(input)
                parsers: [ { type: json } ]
                outputs: [ \(output) ]
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Two three-level trees, children logged first as apps do; a span logged as a start and an end line; two
    /// records logged outside any span (all-zero ids).
    static let lines = [
        #"{"ts":"2026-01-01T00:00:00.200Z","msg":"a-leaf","span_id":"a-3","parent_id":"a-2","duration_ms":100}"#,
        #"{"ts":"2026-01-01T00:00:00.300Z","msg":"b-leaf","span_id":"b-3","parent_id":"b-2","duration_ms":100}"#,
        #"{"ts":"2026-01-01T00:00:00.100Z","msg":"a-middle","span_id":"a-2","parent_id":"a-1","duration_ms":300}"#,
        #"{"ts":"2026-01-01T00:00:00.000Z","msg":"a-root","span_id":"a-1","duration_ms":500}"#,
        #"{"ts":"2026-01-01T00:00:00.250Z","msg":"b-middle","span_id":"b-2","parent_id":"b-1","duration_ms":300}"#,
        #"{"ts":"2026-01-01T00:00:00.200Z","msg":"b-root","span_id":"b-1","duration_ms":500}"#,
        #"{"ts":"2026-01-01T00:00:01.000Z","span_name":"chat","span_id":"c0ffee00c0ffee00","model":"gpt-4o-mini","prompt_tokens":18}"#,
        #"{"ts":"2026-01-01T00:00:02.500Z","msg":"chat done","span_id":"c0ffee00c0ffee00","completion_tokens":7}"#,
        #"{"msg":"zero-1","trace_id":"00000000000000000000000000000000","span_id":"0000000000000000","parent_id":"0000000000000000"}"#,
        #"{"msg":"zero-2","trace_id":"00000000000000000000000000000000","span_id":"0000000000000000","parent_id":"0000000000000000"}"#,
    ]

    func checkAssembled(_ spans: [String: JSONValue]) {
        func id(_ name: String, _ key: String) -> String? { spans[name]?[key]?.text }
        for tree in ["a", "b"] {
            let trace = id("\(tree)-root", "trace_id")
            #expect(trace != nil && id("\(tree)-middle", "trace_id") == trace && id("\(tree)-leaf", "trace_id") == trace,
                    "tree \(tree) is one trace")
            #expect(id("\(tree)-leaf", "parent_span_id") == id("\(tree)-middle", "span_id"))
            #expect(id("\(tree)-middle", "parent_span_id") == id("\(tree)-root", "span_id"))
            #expect(id("\(tree)-root", "parent_span_id") == nil)
        }
        #expect(id("a-root", "trace_id") != id("b-root", "trace_id"), "two trees never share a trace id")

        let chat = spans["chat"]
        #expect(spans["chat done"] == nil, "the end line is part of the chat span")
        #expect(chat?["span_id"]?.text == "c0ffee00c0ffee00")
        #expect(chat?["end_time_unix_nano"]?.number.map { $0 - (chat?["start_time_unix_nano"]?.number ?? 0) } == 1.5e9)
        #expect(chat?["attributes"]?["gen_ai.usage.input_tokens"] == .int(18))
        #expect(chat?["attributes"]?["gen_ai.usage.output_tokens"] == .int(7))

        for name in ["zero-1", "zero-2"] {
            #expect(spans[name]?["parent_span_id"] == nil, "\(name) has no parent")
        }
        #expect(id("zero-1", "span_id") != id("zero-2", "span_id") && id("zero-1", "trace_id") != id("zero-2", "trace_id"),
                "all-zero ids are no shared id")
    }

    @Test func treesLoggedChildrenFirstStartAndEndLinesAndZeroIDs() async throws {
        let directory = temporaryDirectory()
        let config = try config(in: directory, input: "{ type: stdin }")
        let result = try await runTracetail(["run", "--once", "-c", config], stdin: Self.lines.joined(separator: "\n") + "\n")
        #expect(result.status == 0, "\(result.stderr)")
        let spans = spans(result.stdout)
        #expect(spans.count == 9, "\(result.stdout)")
        checkAssembled(spans)
    }

    @Test func aReReadAfterSIGKILLGivesTheSameIDs() async throws {
        let directory = temporaryDirectory()
        let logs = LogWriter(directory: directory + "/logs")
        logs.append(Self.lines.joined(separator: "\n") + "\n", to: "app.log")
        let config = try config(in: directory, input: #"{ type: file, include: ["\#(logs.directory)/*.log"], poll_interval: 50ms }"#)
        let first = try RunningProcess(["run", "-c", config])
        try await first.waitFor { spans($0.stdout).count == 9 } // held records go out when their 2 s wait ran out
        first.signal(SIGKILL)
        let killed = try await first.wait()
        // The checkpoint goes with the data directory: every line is read again.
        try FileManager.default.removeItem(atPath: directory + "/data")
        let second = try await runTracetail(["run", "--once", "-c", config])
        #expect(second.status == 0, "\(second.stderr)")
        let before = spans(killed.stdout), after = spans(second.stdout)
        checkAssembled(after)
        for (name, span) in before where !name.hasPrefix("zero") {
            #expect(after[name]?["trace_id"] == span["trace_id"] && after[name]?["span_id"] == span["span_id"], "\(name)")
        }
        #expect(after["zero-1"]?["span_id"] == before["zero-1"]?["span_id"], "position-derived ids are stable too")
    }

    @Test func theExampleLogReachesAnOTLPBackendAsOneTracePerRequest() async throws {
        let server = FakeLangWatch()
        try await server.start()
        defer { server.stop() }
        let directory = temporaryDirectory()
        // The default configuration: no trace_id_from.
        let config = try config(in: directory, input: "{ type: stdin }",
                                output: #"{ type: otlp, endpoint: "\#(server.url)/api/otel/v1/traces", headers: { X-Auth-Token: "\#(FakeLangWatch.apiKey)" }, batch_wait: 50ms }"#)
        let log = try String(contentsOfFile: repositoryRoot() + "/examples/logs/llm-app.jsonl", encoding: .utf8)
        let result = try await runTracetail(["run", "--once", "-c", config], stdin: log)
        #expect(result.status == 0, "\(result.stderr)")
        let traces = Dictionary(server.spans.map { ($0.name, $0.traceID) }) { first, _ in first }
        #expect(traces["POST /chat"] != nil && traces["POST /chat"] == traces["chat gpt-4o-mini"], "\(server.spans) \(result.stderr)")
        #expect(Set(server.spans.map(\.spanID)).count == server.spans.count, "one span per span id")
    }
}
