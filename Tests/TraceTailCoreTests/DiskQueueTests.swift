import Foundation
import Testing
import TestSupport
@testable import TraceTailCore

@Suite struct DiskQueueTests {
    let context = PluginContext(pipeline: "test", stageName: "queue", kind: "test", logger: .init(label: "test"), dataDirectory: "")

    func open(_ directory: String, maxBytes: Int = 1 << 20, segmentBytes: Int? = nil) throws -> DiskQueue {
        try DiskQueue(directory: directory, settings: .init(maxBytes: maxBytes, fsync: .always, segmentBytes: segmentBytes),
                      metrics: context.metrics, writes: context.dataWrites)
    }

    func segments(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".seg") }
    }

    func entry(_ n: Int) -> [UInt8] { Array("entry \(n) ".utf8) + [UInt8](repeating: UInt8(n % 251), count: n % 300) }

    @Test func entriesComeBackInOrderAndAcknowledgedOnesAreNotReplayed() async throws {
        let directory = temporaryDirectory()
        do {
            let queue = try open(directory)
            for n in 0..<10 { try await queue.append(entry(n)) }
            for n in 0..<10 {
                let got = try #require(await queue.take())
                #expect(got.entries.map(\.payload) == [entry(n)])
                if n < 4 || n == 6 { queue.acknowledge(got) } // 6 out of order: 4 and 5 are still open
            }
            #expect(queue.backlog.entries == 5)
        }
        let reopened = try open(directory)
        #expect(reopened.recovery.replayed == 6) // 4…9: the acknowledged mark stops before the gap at 4
        var seen: [[UInt8]] = []
        for _ in 0..<6 { seen.append(try #require(await reopened.take()).entries[0].payload) }
        #expect(seen == (4..<10).map(entry))
    }

    @Test func aTornTailAndACorruptEntryAreSkippedAndCounted() async throws {
        let directory = temporaryDirectory()
        do {
            let queue = try open(directory)
            for n in 0..<5 { try await queue.append(entry(n)) }
        }
        let segment = try #require(try FileManager.default.contentsOfDirectory(atPath: directory).first { $0.hasSuffix(".seg") })
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/" + segment)))
        let firstLength = DiskQueue.headerBytes + entry(0).count
        bytes[firstLength + DiskQueue.headerBytes + 2] ^= 0xFF // damage entry 1's payload
        bytes += [7, 0, 0, 0, 1, 2] // a torn header after the last entry
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/" + segment))

        let queue = try open(directory)
        #expect(queue.recovery.corrupt == 2)
        #expect(queue.recovery.replayed == 4)
        var seen: [[UInt8]] = []
        for _ in 0..<4 { seen.append(try #require(await queue.take()).entries[0].payload) }
        #expect(seen == [entry(0), entry(2), entry(3), entry(4)])
        try await queue.append(entry(9)) // appends go on in a fresh segment after the damage
        #expect(try #require(await queue.take()).entries[0].payload == entry(9))
        #expect(queue.metrics.corrupt.value == 2, "counted once, on open")
    }

    @Test func fullyAcknowledgedSegmentsAreDeleted() async throws {
        let directory = temporaryDirectory()
        let queue = try open(directory, segmentBytes: 1000)
        for _ in 0..<40 { try await queue.append([UInt8](repeating: 1, count: 200)) }
        let written = try segments(directory).count
        #expect(written > 5, "\(written) segments")
        for _ in 0..<40 { queue.acknowledge(try #require(await queue.take())) }
        #expect(try segments(directory).count == 1) // only the one being written (too small to retire)
        #expect(queue.backlog.entries == 0 && queue.backlog.bytes == 0)
    }

    @Test func appendRefusesBeyondTheSizeCapUntilEntriesAreAcknowledged() async throws {
        let queue = try open(temporaryDirectory(), maxBytes: 1000)
        let payload = [UInt8](repeating: 1, count: 300)
        for _ in 0..<3 { try await queue.append(payload) }
        await #expect(throws: DiskQueue.Full.self) { try await queue.append(payload) }
        queue.acknowledge(try #require(await queue.take()))
        try await queue.append(payload)
    }

    @Test func aWaitingReaderWakesForAnAppendAndStopEndsIt() async throws {
        let queue = try open(temporaryDirectory())
        async let first = queue.take()
        try await Task.sleep(for: .milliseconds(50))
        try await queue.append(entry(1))
        #expect(await first?.entries.map(\.payload) == [entry(1)])
        async let second = queue.take()
        try await Task.sleep(for: .milliseconds(50))
        queue.stop()
        #expect(await second == nil)
    }

    @Test func aDeliveryWaiterLearnsWhenItsEntryIsAcknowledged() async throws {
        let queue = try open(temporaryDirectory())
        let sequence = try await queue.append(entry(1))
        async let delivered = queue.acknowledged(sequence)
        let got = try #require(await queue.take())
        queue.acknowledge(got)
        #expect(await delivered)
    }

    @Test func aWaiterForAnEntryAcknowledgedOutOfOrderReturnsAtOnce() async throws {
        let queue = try open(temporaryDirectory())
        try await queue.append(entry(1))
        let second = try await queue.append(entry(2))
        let first = try #require(await queue.take())
        queue.acknowledge(try #require(await queue.take())) // the second, while the first is still out
        let answered = await withTaskGroup(of: Bool?.self) { group in
            group.addTask { await queue.acknowledged(second) }
            group.addTask {
                try? await Task.sleep(for: .seconds(5))
                return nil // a waiter that never hears back
            }
            defer { group.cancelAll() }
            return await group.next() ?? nil
        }
        #expect(answered == true)
        queue.acknowledge(first)
    }

    @Test func aLeaseGathersEntriesAndTheJournalGetsOneLinePerCommit() async throws {
        let directory = temporaryDirectory()
        do {
            let queue = try open(directory, maxBytes: 8 << 20)
            for n in 0..<2000 { try await queue.append(entry(n)) }
            var leases: [DiskQueue.Lease] = []
            var seen: [[UInt8]] = []
            while let lease = await queue.take(maxEntries: 700, waiting: false) {
                leases.append(lease)
                seen += lease.entries.map(\.payload)
            }
            #expect(seen == (0..<2000).map(entry))
            #expect(leases.map(\.entries.count) == [700, 700, 600])
            queue.acknowledge(leases[1]) // out of order: the commit waits for the first
            #expect(queue.backlog.entries == 1300)
            queue.acknowledge(leases[0])
            let journal = try String(contentsOfFile: directory + "/acknowledged", encoding: .utf8)
            #expect(journal.split(separator: "\n").count == 2, "\(journal)") // compacted on open, then one commit
            #expect(journal.hasSuffix("1400\n"))
        }
        let reopened = try open(directory)
        #expect(reopened.recovery.replayed == 600)
        #expect(try #require(await reopened.take()).entries[0].payload == entry(1400))
    }

    @Test func aDrainedQueueFreesItsSegmentsAlsoAtStartUp() async throws {
        let directory = temporaryDirectory()
        let big = [UInt8](repeating: 7, count: 20_000)
        do {
            let queue = try open(directory, maxBytes: 8 << 20)
            for _ in 0..<10 { try await queue.append(big) }
            let lease = try #require(await queue.take(maxEntries: 100))
            #expect(lease.entries.count == 10)
            queue.acknowledge(lease)
            // The segment being written is retired once everything in it is acknowledged.
            #expect(try segments(directory).isEmpty)
            try await queue.append(big)
            #expect(try #require(await queue.take()).entries[0].payload == big)
        }
        // Acknowledged before a crash, with the position written but the segments left: deleted on open.
        let reopened = try open(directory)
        #expect(reopened.recovery.replayed == 1)
        let lease = try #require(await reopened.take())
        try await reopened.append(entry(1))
        reopened.acknowledge(lease)
        #expect(try segments(directory).count == 1, "the segment being written stays")
        reopened.acknowledge(try #require(await reopened.take()))
        try await reopened.close()
        #expect(try segments(directory).isEmpty, "a drained queue leaves no segment at its close")
        let third = try open(directory)
        #expect(third.recovery.replayed == 0)
    }

    @Test func batchesRoundTripWithEverySpanField() async throws {
        var batch = RecordBatch(ack: AckToken(0))
        batch.append(Array("raw line".utf8), position: SourcePosition(source: "a.log", identity: "id", offsets: 10..<19),
                     observedTime: 42)
        batch.append(Array("second".utf8), position: SourcePosition(source: "b", offsets: 0..<6), observedTime: 43)
        batch.arrivedAsSpans = true
        var record = batch.records[0]
        record.traceID = TraceID(high: 1, low: 2)
        record.spanID = SpanID(3)
        record.parentSpanID = SpanID(4)
        record.name = "chat gpt-4o"
        record.type = .llm
        record.startTime = 1_767_225_600_000_000_000
        record.endTime = 1_767_225_601_000_000_000
        record.status = .error(message: "boom", stacktrace: ["a", "b"])
        record.input = .json(.array([.object([("role", .string("user")), ("content", .string("hi"))])]))
        record.output = .text("hello")
        record.cost = 0.0025
        record.parseError = nil
        record.attributes = Attributes([("gen_ai.usage.input_tokens", .int(-5)), ("t", .double(0.5)), ("f", .bool(false)),
                                        ("labels", .array([.string("x"), .bool(true)]))])
        record.events = [SpanEvent(name: "exception", time: 1_767_225_600_500_000_000, attributes: Attributes([("exception.type", .string("TimeoutError"))])),
                         SpanEvent(name: "", time: 0)]
        batch.records[0] = record
        let decoded = try RecordCodec.decode(RecordCodec.encode(batch), ack: AckToken(9))
        #expect(decoded.ack == AckToken(9))
        #expect(decoded.arrivedAsSpans)
        #expect(decoded.records.count == 2)
        #expect(decoded.rawText(decoded.records[0]) == "raw line" && decoded.rawText(decoded.records[1]) == "second")
        let back = decoded.records[0]
        #expect(back.position == record.position && back.observedTime == 42)
        #expect(back.traceID == record.traceID && back.spanID == record.spanID && back.parentSpanID == record.parentSpanID)
        #expect(back.name == record.name && back.type == .llm && back.startTime == record.startTime && back.endTime == record.endTime)
        #expect(back.status == record.status && back.input == record.input && back.output == record.output)
        #expect(back.events == record.events && decoded.records[1].events.isEmpty)
        #expect(back.cost == 0.0025 && back.attributes == record.attributes)
        #expect(decoded.records[1].traceID == nil && decoded.records[1].status == .unset)
    }

    @Test func damagedRecordDataIsAnErrorNotACrash() {
        var batch = RecordBatch(ack: AckToken(0))
        batch.append(Array("x".utf8), position: SourcePosition(source: "s", offsets: 0..<1), observedTime: 1)
        let bytes = RecordCodec.encode(batch)
        for cut in 0..<bytes.count {
            #expect(throws: RecordCodec.Failure.self) { try RecordCodec.decode(Array(bytes[..<cut]), ack: AckToken(0)) }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            var noisy = bytes
            noisy[Int.random(in: 0..<noisy.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            _ = try? RecordCodec.decode(noisy, ack: AckToken(0))
        }
    }
}
