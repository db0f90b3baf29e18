import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing
import TestSupport
@testable import TraceTailCore

func runPipeline(_ spec: PipelineSpec, dataDirectory: String = temporaryDirectory()) async throws {
    let pipeline = try Pipeline(spec: spec, dataDirectory: dataDirectory, logger: .init(label: "test"))
    try await pipeline.run()
}

@Suite struct PipelineTests {
    @Test func everyBatchReachesEveryOutputAndIsAcknowledgedOnce() async throws {
        let input = ScriptedInput(.init(batches: 50, recordsPerBatch: 20))
        let first = RecordingOutput()
        let second = RecordingOutput()
        try await runPipeline(.forTests(input: input, parsers: [], outputs: [first, second]))
        #expect(first.records == 1000)
        #expect(second.records == 1000)
        #expect(Set(input.acknowledged.map(\.sequence)) == Set(0..<50))
        #expect(input.acknowledged.count == 50)
        #expect(first.flushed && second.flushed)
    }

    @Test func aSlowOutputSlowsTheInputAndBoundsWhatIsInFlight() async throws {
        let input = ScriptedInput(.init(batches: 60, recordsPerBatch: 5))
        let slow = RecordingOutput(.init(delay: .milliseconds(5)))
        var queue = QueueSettings()
        queue.maxBatches = 2
        try await runPipeline(.forTests(input: input, outputs: [slow], queue: queue))
        #expect(slow.records == 300)
        // At most: 2 queued for the parser, 1 being parsed, 2 queued for assembly, 1 being assembled, 2 queued for the
        // output, 1 being sent, 1 being emitted.
        #expect(input.maxInFlight <= 10, "in flight: \(input.maxInFlight)")
        #expect(input.maxInFlight >= 3, "the input was never ahead of the output: \(input.maxInFlight)")
    }

    @Test func queuesAreBoundedInBytesToo() async throws {
        // Each batch weighs 10 × (1000 + 1024) bytes; allow about two of them per queue.
        let input = ScriptedInput(.init(batches: 40, recordsPerBatch: 10, recordBytes: 1000))
        let slow = RecordingOutput(.init(delay: .milliseconds(5)))
        var queue = QueueSettings()
        queue.maxBatches = 1000
        queue.maxBytes = ByteSize(2 * 20_240)
        try await runPipeline(.forTests(input: input, outputs: [slow], queue: queue))
        #expect(slow.records == 400)
        #expect(input.maxInFlight <= 10, "in flight: \(input.maxInFlight)")
    }

    @Test func aBatchIsAcknowledgedOnlyAfterEveryOutputAcceptedIt() async throws {
        let input = ScriptedInput(.init(batches: 3, recordsPerBatch: 4))
        let fast = RecordingOutput()
        let gated = RecordingOutput(.init(gated: true))
        let run = Task { try await runPipeline(.forTests(input: input, outputs: [fast, gated])) }
        try await eventually("the fast output received everything") { fast.records == 12 }
        try await Task.sleep(for: .milliseconds(50))
        #expect(input.acknowledged.isEmpty, "acknowledged before the gated output accepted")
        #expect(gated.records == 0)
        gated.openGate()
        try await run.value
        #expect(gated.records == 12)
        #expect(input.acknowledged.count == 3)
    }

    @Test func gracefulShutdownDrainsEverythingInFlight() async throws {
        let input = ScriptedInput(.init(batches: 30, recordsPerBatch: 10, holdOpen: true))
        let slow = RecordingOutput(.init(delay: .milliseconds(3)))
        var queue = QueueSettings()
        queue.maxBatches = 8
        let pipeline = try Pipeline(spec: .forTests(input: input, outputs: [slow], queue: queue),
                                    dataDirectory: temporaryDirectory(), logger: .init(label: "test"))
        try await testGracefulShutdown { trigger in
            let run = Task { try await pipeline.run() }
            try await eventually("the input emitted everything") { input.emitted == 30 }
            #expect(slow.records < 300, "the output should still be behind when shutdown starts")
            trigger.triggerGracefulShutdown()
            try await run.value
        }
        #expect(slow.records == 300)
        #expect(input.acknowledged.count == 30)
        #expect(slow.flushed)
    }

    @Test func aFailingOutputDeadLettersWhileTheOtherDelivers() async throws {
        let directory = temporaryDirectory()
        let input = ScriptedInput(.init(batches: 4, recordsPerBatch: 5))
        let good = RecordingOutput()
        let bad = RecordingOutput(.init(fails: true))
        let pipeline = try Pipeline(spec: .forTests(name: "fanout", input: input, outputs: [good, bad]),
                                    dataDirectory: directory, logger: .init(label: "test"))
        try await pipeline.run()
        #expect(good.records == 20)
        #expect(input.acknowledged.count == 4)
        #expect(pipeline.counters.recordsDeadLettered.value == 20)
        let lines = try FileSystem.read(directory + "/fanout/dead-letter-outputs[1].ndjson").split(separator: UInt8(ascii: "\n"))
        #expect(lines.count == 20)
        let first = try JSONReader.parse(lines[0])
        #expect(first["reason"] == .string("the test output refuses every batch"))
        guard case .string(let raw)? = first["raw"] else { Issue.record("no raw text"); return }
        #expect(raw.hasPrefix("record 0 "))
        #expect(first["source"] == .string("scripted"))
    }

    @Test func parsersRunInOrderOnEveryRecord() async throws {
        let input = ScriptedInput(.init(batches: 2, recordsPerBatch: 3))
        let output = RecordingOutput()
        let probe = ProbeParser(configuration: .init(pattern: "seen"), context: .forTests())
        try await runPipeline(.forTests(input: input, parsers: [probe], outputs: [output]))
        let records = output.batches.flatMap(\.records)
        #expect(records.count == 6)
        #expect(records.allSatisfy { $0.attributes["probe"] == .string("seen") })
        // Span defaults: deterministic ids from the position, name from the raw text.
        #expect(records[0].name?.hasPrefix("record 0 ") == true)
        #expect(records[0].traceID == TraceID(hashing: SpanDefaults.positionKey(records[0].position)))
        #expect(Set(records.compactMap(\.spanID)).count == 6)
    }
}

@Suite struct RunnerTests {
    struct Broken: Error, CustomStringConvertible {
        var description: String { "the source vanished" }
    }

    final class FailingInput: Input {
        struct Configuration: Decodable, Sendable {}
        static let kind = "failing"
        static let summary = ""
        static let options: [PluginOption] = []
        init(configuration: Configuration, context: PluginContext) {}
        func run(emitter: BatchEmitter) async throws { throw Broken() }
        func acknowledge(_ token: AckToken, status: BatchStatus) {}
    }

    @Test func oneFailingPipelineDoesNotStopTheOthers() async throws {
        let input = ScriptedInput(.init(batches: 20, recordsPerBatch: 5))
        let output = RecordingOutput(.init(delay: .milliseconds(2)))
        let config = TraceTailConfig(file: "t.yaml", service: ServiceSettings(), pipelines: [
            .forTests(name: "broken", input: FailingInput(configuration: .init(), context: .forTests()),
                      outputs: [RecordingOutput()]),
            .forTests(name: "healthy", input: input, outputs: [output]),
        ])
        let outcome = await Runner.run(config, logger: .init(label: "test"), handleSignals: false)
        #expect(outcome.failures.map(\.pipeline) == ["broken"])
        #expect(outcome.failures.first?.message.contains("the source vanished") == true)
        #expect(output.records == 100)
        #expect(input.acknowledged.count == 20)
    }
}
