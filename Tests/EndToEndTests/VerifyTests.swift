import Foundation
import Testing
import TestSupport
import TraceTailCore

/// `tracetail verify` against the fake LangWatch's search API.
@Suite struct VerifyTests {
    let first = "4bf92f3577b34da6a3ce929d0e0e4736"
    let second = "5b8efff798038103d269b633813fc60c"

    @Test func findsTracesThatArriveWhilePolling() async throws {
        let server = FakeLangWatch()
        try await server.start()
        defer { server.stop() }
        server.makeSearchable(first)
        // Ingestion is asynchronous: the second trace becomes searchable only once a search has missed it (a timer
        // raced with the process's start under load).
        let ingestion = Task {
            try await eventually("a first search") { server.requests.contains { $0.path == "/api/traces/search" } }
            server.makeSearchable(second)
        }
        let result = try await runTracetail(["verify", "--endpoint", server.url, "--api-key", FakeLangWatch.apiKey,
                                             "--trace-id", first, "--trace-id", second, "--timeout", "60s"])
        try await ingestion.value
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout == "found \(first)\nfound \(second)\n")
        let searches = server.requests.filter { $0.path == "/api/traces/search" }
        #expect(searches.count >= 2 && searches.allSatisfy { $0.status == 200 })
        let body = try JSONReader.parse(try #require(searches.first).body)
        #expect(body["traceIds"]?.items?.count == 2 && body["startDate"] != nil && body["endDate"] != nil)
    }

    @Test func reportsWhatIsMissing() async throws {
        let server = FakeLangWatch()
        try await server.start()
        defer { server.stop() }
        server.makeSearchable(first)
        let result = try await runTracetail(["verify", "--endpoint", server.url, "--api-key", FakeLangWatch.apiKey,
                                             "--trace-id", first, "--trace-id", second, "--timeout", "2s"])
        #expect(result.status == 1)
        #expect(result.stdout == "found \(first)\nmissing \(second)\n")
    }

    @Test func aRefusedKeyIsItsOwnAnswer() async throws {
        let server = FakeLangWatch()
        try await server.start()
        defer { server.stop() }
        let wrongKey = "sk-lw-wrong-key-0123456789"
        let result = try await runTracetail(["verify", "--endpoint", server.url, "--trace-id", first, "--timeout", "2s"],
                                            environment: ["LANGWATCH_API_KEY": wrongKey])
        #expect(result.status == 2)
        #expect(result.stdout.contains("refused the API key (401)"), "\(result.stdout)")
        #expect(!result.stdout.contains(wrongKey) && !result.stderr.contains(wrongKey))
    }

    @Test func listsTheTracesOfARecentWindow() async throws {
        let server = FakeLangWatch()
        try await server.start()
        defer { server.stop() }
        server.makeSearchable(first)
        let result = try await runTracetail(["verify", "--endpoint", server.url, "--api-key", FakeLangWatch.apiKey, "--since", "10m"])
        #expect(result.status == 0)
        #expect(result.stdout == "found 1 trace since 10m ago\nfound \(first)\n")
        let bad = try await runTracetail(["verify", "--endpoint", server.url, "--api-key", "k", "--since", "soon"])
        #expect(bad.status != 0 && bad.stderr.contains("'soon' is not a duration"))
    }
}
