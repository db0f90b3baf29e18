import Foundation
import BuiltinPlugins
@testable import OTLPOutput
import SwiftProtobuf
import Testing
import TraceTailCore
import TestSupport

/// A pipeline `scripted input → otlp output` against the fake server.
struct OTLPRun {
    let server: FakeLangWatch
    let data = temporaryDirectory("otlp")

    static let registry = try! PluginRegistry(inputs: [ScriptedInput.self], parsers: [], outputs: [OTLPOutput.self])

    /// Runs `batches` batches of `records` records through an output configured by `options`; returns the pipeline.
    @discardableResult
    func run(batches: Int = 3, records: Int = 10, _ options: String) async throws -> Pipeline {
        let text = """
            pipelines:
              otlp:
                input: { type: scripted, batches: \(batches), recordsPerBatch: \(records), recordBytes: 40, holdOpen: false }
                outputs:
                  - { type: otlp, batch_wait: 50ms, initial_backoff: 10ms, max_backoff: 100ms, \(options) }
            """
        let config = try ConfigLoader.load(text: text, file: "t.yaml", registry: Self.registry, environment: [:])
        let pipeline = try Pipeline(spec: config.pipelines[0], dataDirectory: data, logger: .init(label: "test"))
        try await pipeline.run()
        return pipeline
    }

    var otel: String { "endpoint: \"\(server.url)/api/otel/v1/traces\", headers: { X-Auth-Token: \(FakeLangWatch.apiKey) }" }
    var ingest: String {
        "endpoint: \"\(server.url)/api/ingest/otel/\(FakeLangWatch.sourceID)\", bearer_secret: \(FakeLangWatch.ingestSecret)"
    }

    func deadLetters() -> [JSONValue] {
        guard let bytes = try? FileSystem.read(data + "/otlp/dead-letter-outputs[0].ndjson") else { return [] }
        return bytes.split(separator: UInt8(ascii: "\n")).compactMap { try? JSONReader.parse($0) }
    }

    static func withServer(ingestLimit: Int = 60, _ body: (OTLPRun) async throws -> Void) async throws {
        let server = FakeLangWatch(ingestLimit: ingestLimit)
        try await server.start()
        defer { server.stop() }
        try await body(OTLPRun(server: server))
    }
}

@Suite(.serialized) struct OTLPOutputTests {
    @Test func protobufAndJSONCarryTheSameSpans() async throws {
        var received: [String: Set<FakeLangWatch.Span>] = [:]
        for encoding in ["protobuf", "json"] {
            try await OTLPRun.withServer { run in
                try await run.run(run.otel + ", encoding: \(encoding)")
                #expect(run.server.spans.count == 30)
                let contentTypes = Set(run.server.requests.map { $0.headers["content-type"] ?? "" })
                #expect(contentTypes == [encoding == "json" ? "application/json" : "application/x-protobuf"])
                #expect(run.server.requests.allSatisfy { $0.headers["content-encoding"] == "gzip" })
                received[encoding] = Set(run.server.spans)
            }
        }
        #expect(received["protobuf"] == received["json"])
        let span = try #require(received["json"]?.first { $0.name.hasPrefix("record 0 ") })
        #expect(span.traceID.count == 32 && span.spanID.count == 16)
        #expect(span.kind == 1)
        #expect(span.attributes["langwatch.span.type"] == "span")
    }

    @Test func transientFailuresAreRetriedAndRetryAfterIsHonoured() async throws {
        try await OTLPRun.withServer { run in
            run.server.inject([
                .status(503), .status(429, headers: ["Retry-After": "1"]), .status(500), .status(502), .status(504), .status(408),
                // Far longer than the timeout: a network error. (The fake would still take the abandoned request once the
                // delay ended — at-least-once — so the delay outlasts the test on however slow a machine.)
                .delay(.seconds(60)),
                .drop, // the connection cut mid-reply
            ])
            let started = ContinuousClock.now
            try await run.run(batches: 1, run.otel + ", timeout: 3s")
            #expect(ContinuousClock.now - started >= .seconds(1), "Retry-After: 1 was not waited for")
            #expect(run.server.spans.count == 10)
            #expect(Set(run.server.spans).count == 10)
            #expect(run.server.requests.map(\.status) == [503, 429, 500, 502, 504, 408, -1, 200])
            #expect(run.deadLetters().isEmpty)
        }
    }

    @Test func retryAfterAsAnHTTPDate() async throws {
        try await OTLPRun.withServer { run in
            let inTwoSeconds = HTTPDate.format(TraceTailCore.Clock.nowNanoseconds / 1_000_000_000 + 2)
            run.server.inject([.status(503, headers: ["Retry-After": inTwoSeconds])])
            let started = ContinuousClock.now
            try await run.run(batches: 1, run.otel)
            #expect(ContinuousClock.now - started >= .seconds(1))
            #expect(run.server.spans.count == 10)
        }
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDate.format(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
    }

    @Test(arguments: [400, 401, 402, 403])
    func permanentFailuresAreDeadLetteredNotRetried(_ status: Int) async throws {
        try await OTLPRun.withServer { run in
            run.server.inject([.status(status, body: "refused")])
            let pipeline = try await run.run(batches: 1, run.otel)
            #expect(run.server.requests.count == 1)
            let letters = run.deadLetters()
            #expect(letters.count == 10)
            #expect(letters.first?["status"] == .int(Int64(status)))
            #expect(letters.first?["reason"] == .string("\(status) refused"))
            #expect(pipeline.counters.recordsSettled.value == 10, "dead-lettered records are settled, not left hanging")
        }
    }

    @Test func aWrongKeyIsRefusedAndDeadLettered() async throws {
        try await OTLPRun.withServer { run in
            try await run.run(batches: 1, "endpoint: \"\(run.server.url)/api/otel/v1/traces\", headers: { X-Auth-Token: nope }")
            #expect(run.deadLetters().first?["reason"] == .string(#"401 {"message":"Invalid auth token."}"#))
        }
    }

    @Test func tooLargeRequestsAreSplit() async throws {
        try await OTLPRun.withServer { run in
            run.server.inject([.status(413), .status(413)])
            try await run.run(batches: 1, records: 8, run.otel)
            #expect(run.server.spans.count == 8)
            #expect(run.server.requests.map(\.status) == [413, 413, 200, 200, 200])
        }
    }

    @Test func partialSuccessIsCountedNotRetried() async throws {
        try await OTLPRun.withServer { run in
            run.server.inject([.status(200, body: #"{"partialSuccess":{"rejectedSpans":"3","errorMessage":"too old"}}"#)])
            try await run.run(batches: 1, run.otel)
            #expect(run.server.requests.count == 1)
            #expect(run.deadLetters().isEmpty)
        }
    }

    @Test func aProtobufPartialSuccessIsRead() throws {
        var response = OTLPExportResponse()
        response.partialSuccess.rejectedSpans = 3
        response.partialSuccess.errorMessage = "too old"
        let partial = try OTLPEncoding.partialSuccess(protobuf: try response.serializedBytes())
        #expect(partial?.rejected == 3 && partial?.message == "too old")
        #expect(try OTLPEncoding.partialSuccess(protobuf: [0x12, 0x01, 0x00]) == nil, "an unknown field only")
        #expect(throws: ProtobufReader.Malformed.self) { try OTLPEncoding.partialSuccess(protobuf: [0x0A, 0x05, 0x08]) }
    }

    @Test func governanceIngestWithItsBearerSecret() async throws {
        try await OTLPRun.withServer { run in
            try await run.run(run.ingest)
            #expect(run.server.spans.count == 30)
            #expect(run.server.requests.allSatisfy { $0.status == 202 && $0.headers["authorization"] == "Bearer \(FakeLangWatch.ingestSecret)" })
        }
    }

    @Test func anIngestReplyThatTookNothingIsAFailureWithTheHint() async throws {
        try await OTLPRun.withServer { run in
            run.server.inject([.status(202, body: #"{"accepted":true,"bytes":10,"events":0,"hint":"no spans found"}"#)])
            try await run.run(batches: 1, run.ingest)
            let letters = run.deadLetters()
            #expect(letters.count == 10)
            #expect(letters.first?["reason"] == .string("the ingest endpoint took no spans: no spans found"))
        }
    }

    @Test func theIngestRateLimitIsWaitedOut() async throws {
        try await OTLPRun.withServer(ingestLimit: 1) { run in
            // One request a minute on the server side: the second request gets 429 with Retry-After and is retried.
            run.server.inject([.status(429, headers: ["Retry-After": "1"], body: #"{"error":"rate_limited"}"#)], on: "/api/ingest")
            try await run.run(batches: 1, run.ingest)
            #expect(run.server.spans.count == 10)
            #expect(run.server.requests.map(\.status) == [429, 202])
        }
    }

    @Test func fanOutWhereOneOutputFailsForGood() async throws {
        try await OTLPRun.withServer { run in
            let text = """
                pipelines:
                  otlp:
                    input: { type: scripted, batches: 3, recordsPerBatch: 10, recordBytes: 40, holdOpen: false }
                    outputs:
                      - { type: otlp, batch_wait: 50ms, \(run.otel) }
                      - { type: otlp, batch_wait: 50ms, endpoint: "\(run.server.url)/api/otel/v1/traces", headers: { X-Auth-Token: wrong-key } }
                """
            let config = try ConfigLoader.load(text: text, file: "t.yaml", registry: OTLPRun.registry, environment: [:])
            let input = ScriptedInput(.init(batches: 3, recordsPerBatch: 10, recordBytes: 40))
            var spec = config.pipelines[0]
            spec.input = ConfiguredPlugin(kind: "scripted", stageName: "input", location: spec.location) { _ in input }
            let pipeline = try Pipeline(spec: spec, dataDirectory: run.data, logger: .init(label: "test"))
            try await pipeline.run()
            #expect(Set(run.server.spans.map(\.spanID)).count == 30, "the healthy output delivered everything")
            guard let bytes = try? FileSystem.read(run.data + "/otlp/dead-letter-outputs[1].ndjson") else {
                Issue.record("the failing output dead-lettered nothing")
                return
            }
            #expect(bytes.split(separator: UInt8(ascii: "\n")).count == 30)
            #expect(input.acknowledged.count == 3, "each batch acknowledged once both outputs settled it")
        }
    }

    @Test func configurationMistakes() {
        func errors(_ options: String) -> [String] {
            let text = "pipelines:\n  p:\n    input: { type: scripted, batches: 1, recordsPerBatch: 1, recordBytes: 1, holdOpen: false }\n    outputs: [ { type: otlp, \(options) } ]\n"
            do {
                _ = try ConfigLoader.load(text: text, file: "t.yaml", registry: OTLPRun.registry, environment: [:])
                return []
            } catch {
                return error.diagnostics.map { "\($0.path): \($0.message)" }
            }
        }
        #expect(errors("endpoint: ftp://x") == ["pipelines.p.outputs[0].endpoint: expected an http:// or https:// URL"])
        #expect(errors("endpoint: \"https://x/api/ingest/otel/s\", bearer_secret: sk-wrong-kind") == [
            "pipelines.p.outputs[0].bearer_secret: the governance ingest endpoint takes a bearer_secret starting with lw_is_",
        ])
        #expect(errors("endpoint: \"https://x/v1/traces\", bearer_secret_file: /nonexistent/secret") == [
            "pipelines.p.outputs[0].bearer_secret_file: cannot open /nonexistent/secret: No such file or directory",
        ])
        #expect(errors("endpoint: \"https://x/v1/traces\", encoding: xml").first?.hasSuffix("expected one of protobuf, json, found 'xml'") == true)
    }

    @Test func bearerSecretFromAFileIsSentAndNeverPrinted() async throws {
        try await OTLPRun.withServer { run in
            let file = run.data + "/secret"
            try FileSystem.createDirectory(run.data)
            try "\(FakeLangWatch.ingestSecret)\n".write(toFile: file, atomically: true, encoding: .utf8)
            try await run.run(batches: 1, "endpoint: \"\(run.server.url)/api/ingest/otel/\(FakeLangWatch.sourceID)\", bearer_secret_file: \(file)")
            #expect(run.server.spans.count == 10)
            #expect(Redactor.shared.redact("Bearer \(FakeLangWatch.ingestSecret)") == "Bearer [REDACTED]")
        }
    }
}
