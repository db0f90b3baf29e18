import Foundation
import Testing
import TestSupport
import TraceTailCore
@testable import LangSmithOutput

@Suite(.serialized) struct LangSmithOutputTests {
    func langsmith(_ run: BackfillRun, key: String = FakeLangWatch.langSmithKey) -> String {
        "{ type: langsmith, endpoint: \"\(run.server.url)\", api_key: \(key), project: shop, trace_quiet: 100ms, initial_backoff: 10ms }"
    }

    func string(_ value: JSONValue?) -> String? {
        if case .string(let text)? = value { text } else { nil }
    }

    @Test func spansBecomeRunsWithRootsParentsAndDottedOrder() async throws {
        try await BackfillRun.withServer { run in
            try await run.run(lines: BackfillRun.sampleLog(), output: langsmith(run))
            #expect(run.deadLetters().isEmpty)
            let runs = run.server.runs
            #expect(runs.count == 6, "7 lines: the tool's start and end lines are one run")
            let chain = try #require(runs.first { string($0["name"]) == "POST /chat" })
            let llm = try #require(runs.first { string($0["name"]) == "chat gpt-4o-mini" })
            #expect(string(chain["run_type"]) == "chain")
            #expect(string(llm["run_type"]) == "llm")
            #expect(string(llm["parent_run_id"]) == string(chain["id"]))
            #expect(string(llm["trace_id"]) == string(chain["id"]), "the root run's id is the trace id")
            #expect(string(chain["trace_id"]) == string(chain["id"]))
            #expect(string(llm["dotted_order"]) == "20260101T000000000000Z\(string(chain["id"])!).20260101T000000100000Z\(string(llm["id"])!)")
            #expect(string(llm["session_name"]) == "shop")
            #expect(llm["outputs"]?["usage_metadata"] == .object([("input_tokens", .int(18)), ("output_tokens", .int(1)), ("total_tokens", .int(19))]))
            #expect(string(llm["extra"]?["metadata"]?["ls_provider"]) == "openai")
            #expect(string(llm["extra"]?["metadata"]?["ls_model_name"]) == "gpt-4o-mini")
            #expect(chain["inputs"] == .object([("input", .string("What is 2+2?"))]))
            let tool = try #require(runs.first { string($0["name"]) == "send_email" })
            #expect(string(tool["run_type"]) == "tool")
            #expect(string(tool["error"])?.hasPrefix("SMTP timeout\nSMTPError: timeout") == true)
            let retriever = try #require(runs.first { string($0["name"]) == "retrieve" })
            let agent = try #require(runs.first { string($0["name"]) == "answer" })
            #expect(string(retriever["parent_run_id"]) == string(agent["id"]))
        }
    }

    @Test func theResourceIsRunMetadata() throws {
        var record = Record(raw: 0..<0, position: SourcePosition(source: "t", offsets: 0..<1), observedTime: 1_767_225_600_000_000_000)
        record.spanID = SpanID(1)
        record.attributes["k8s.pod.name"] = .string("from the record")
        record.resource = Resource(Attributes([("k8s.pod.name", .string("chat-a")), ("k8s.namespace.name", .string("llm"))]))
        let run = try JSONReader.parse(RunsPayload.encode([record], project: "p"))["post"]?.items?.first
        #expect(run?["extra"]?["metadata"]?["k8s.namespace.name"] == .string("llm"))
        #expect(run?["extra"]?["metadata"]?["k8s.pod.name"] == .string("from the record"), "written once: the record's own wins")
    }

    @Test func runIdsAreStableAcrossSends() async throws {
        var first: Set<String> = []
        for attempt in 0..<2 {
            try await BackfillRun.withServer { run in
                try await run.run(lines: BackfillRun.sampleLog(), output: langsmith(run))
                let ids = Set(run.server.runs.compactMap { string($0["id"]) })
                if attempt == 0 { first = ids } else { #expect(ids == first) }
            }
        }
        #expect(first.count == 6)
    }

    @Test func aWrongKeyIsDeadLettered() async throws {
        try await BackfillRun.withServer { run in
            try await run.run(lines: [#"{"msg":"x"}"#], output: langsmith(run, key: "lsv2_wrong-key-1"))
            #expect(run.server.requests.count == 1)
            #expect(run.deadLetters().first?["status"] == .int(401))
        }
    }
}
