import Foundation
import Testing
import TestSupport
import TraceTailCore
@testable import tracetail

/// `tracetail test`: the spans and requests a pipeline would make from a sample, with no network.
@Suite struct TestCommandTests {
    let root = repositoryRoot()

    @Test func theExampleConfigAsATraceTree() async throws {
        let result = try await runTracetail(["test", "-c", "examples/llm-app.yaml", "--input", "examples/logs/llm-app.jsonl"], directory: root)
        #expect(result.status == 0, "\(result.stderr)")
        let golden = root + "/examples/golden/llm-app.test.txt"
        if ProcessInfo.processInfo.environment["TRACETAIL_BLESS"] != nil {
            try result.stdout.write(toFile: golden, atomically: true, encoding: .utf8)
        }
        #expect(result.stdout == (try String(contentsOfFile: golden, encoding: .utf8)))
    }

    @Test func parseFailuresAreShownWithTheirLineNumbers() async throws {
        let sample = temporaryDirectory() + "/sample.jsonl"
        try "{\"msg\":\"fine\"}\n\n{\"msg\": broken}\n{\"msg\":\"also fine\"}\n".write(toFile: sample, atomically: true, encoding: .utf8)
        let result = try await runTracetail(["test", "-c", "examples/llm-app.yaml", "--input", sample], directory: root)
        #expect(result.status == 0)
        #expect(result.stdout.contains(#""fine""#) && result.stdout.contains(#""also fine""#))
        #expect(result.stdout.hasSuffix("line 3: invalid JSON: unexpected character 'b' at byte 8\n"), "\(result.stdout)")
    }

    @Test func jsonShowsEveryOutputsRequestBodies() async throws {
        let directory = temporaryDirectory()
        let config = directory + "/config.yaml"
        try """
            pipelines:
              app:
                input: { type: stdin }
                parsers: [ { type: json, trace_id_from: request_id } ]
                outputs:
                  - { type: otlp, endpoint: "http://127.0.0.1:9/v1/traces", encoding: json }
                  - { type: langwatch, endpoint: "http://127.0.0.1:9", api_key: "sk-lw-preview" }
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let result = try await runTracetail(["test", "-c", config, "--input", root + "/examples/logs/llm-app.jsonl", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try JSONReader.parse(Array(result.stdout.utf8))
        let spans = try #require(document["spans"]?.items)
        #expect(spans.count == 6) // 7 lines: a start and an end line are one span
        let requests = try #require(document["requests"]?.items)
        let otlp = requests.filter { $0["output"] == .string("outputs[0] (otlp)") }
        #expect(otlp.count == 1 && otlp[0]["content_type"] == .string("application/json"))
        #expect(otlp[0]["body"]?["resourceSpans"]?.items?[0]["scopeSpans"]?.items?[0]["spans"]?.items?.count == 6)
        // The collector takes one trace per request.
        let collector = requests.filter { $0["output"] == .string("outputs[1] (langwatch)") }
        let traces = Set(spans.compactMap { $0["trace_id"]?.text })
        #expect(collector.count == traces.count)
        #expect(Set(collector.compactMap { $0["body"]?["trace_id"]?.text }) == traces)
        #expect(!result.stdout.contains("sk-lw-preview"))
    }
}

@Suite struct CostFormatTests {
    @Test(arguments: [(0.000004, "0.000004"), (0.0123, "0.012300"), (1.5, "1.500000"), (-0.25, "-0.250000"),
                      (-0.0000001, "0.000000"), (0.0000005, "0.000001"), (.nan, "nan"), (1e13, "10000000000000.0")])
    func costsAreShownWithSixDecimals(value: Double, shown: String) {
        #expect(TraceTree.sixDecimals(value) == shown)
    }
}
