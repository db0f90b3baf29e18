import Synchronization
import Testing
@testable import TraceTailCore

/// Trace assembly: trees from span and parent ids in any order, spans merged from several lines, bounded waiting,
/// and acknowledgements that stay exact when records are held across batches.
@Suite struct TraceAssemblerTests {
    static let second: UInt64 = 1_000_000_000

    /// One line's fields, as a parser would have set them.
    struct Line {
        var span: UInt64?
        var parent: UInt64?
        var trace: TraceID?
        var start: UInt64? = 1_000
        var end: UInt64? = 2_000
        var attributes: [(String, AttributeValue)] = []
        var name: String?
    }

    /// Records whose input learns what became of each batch.
    final class Receiver: AcknowledgementReceiver {
        let told = Mutex<[(AckToken, BatchStatus)]>([])
        func acknowledge(_ token: AckToken, status: BatchStatus) { told.withLock { $0.append((token, status)) } }
        var tokens: [UInt64] { told.withLock { $0.map(\.0.sequence) } }
    }

    /// What came out of the assembler, with the shares of each emitted batch.
    struct Harness {
        var assembler: TraceAssembler
        var out: [Record] = []
        var emitted: [AcknowledgementShares] = []
        let receiver = Receiver()
        var sequence: UInt64 = 0

        init(wait: String = "2s", maxPending: Int = 10_000) {
            var settings = AssemblySettings()
            settings.wait = ConfigDuration(parsing: wait)!
            settings.maxPending = maxPending
            assembler = TraceAssembler(settings: settings, metrics: MetricsScope(pipeline: "test", stage: "assembly", kind: "assembly"))
        }

        /// Feeds one input batch at `now` (nanoseconds).
        mutating func feed(_ lines: [Line], at now: UInt64 = 0) {
            var batch = RecordBatch(ack: AckToken(sequence))
            for (index, line) in lines.enumerated() {
                batch.append(Array("line \(sequence).\(index)".utf8),
                             position: SourcePosition(source: "test", offsets: UInt64(index)..<UInt64(index + 1)), observedTime: 0)
                var record = batch.records[index]
                record.spanID = line.span.map(SpanID.init)
                record.parentSpanID = line.parent.map(SpanID.init)
                record.traceID = line.trace
                record.startTime = line.start
                record.endTime = line.end
                record.attributes = Attributes(line.attributes)
                record.name = line.name
                batch.records[index] = record
            }
            let (token, count, receiver) = (batch.ack, batch.records.count, receiver)
            sequence += 1
            if let shares = assembler.assemble(&batch, now: now, acknowledgement: {
                SplitAcknowledgement(token: token, records: count, receiver: receiver)
            }) {
                emitted.append(shares)
            } else {
                var whole = AcknowledgementShares()
                whole.add(SplitAcknowledgement(token: token, records: count, receiver: receiver), records: count)
                emitted.append(whole)
            }
            out += batch.records
        }

        mutating func expire(at now: UInt64) {
            take(assembler.expire(now: now))
        }

        mutating func flush() {
            take(assembler.flush())
        }

        private mutating func take(_ assembled: (batch: RecordBatch, shares: AcknowledgementShares)?) {
            guard let assembled else { return }
            out += assembled.batch.records
            emitted.append(assembled.shares)
        }

        func record(_ span: UInt64) -> Record? { out.first { $0.spanID == SpanID(span) } }
    }

    @Test func aThreeLevelTreeLoggedChildrenFirstIsOneTraceWhateverTheBatches() {
        for split in 0...3 {
            var harness = Harness()
            let lines = [Line(span: 3, parent: 2), Line(span: 2, parent: 1), Line(span: 1)]
            harness.feed(Array(lines[..<split]))
            harness.feed(Array(lines[split...]))
            #expect(harness.out.count == 3)
            #expect(harness.assembler.pendingCount == 0, "a complete tree waits for nothing")
            let trace = TraceAssembler.derivedTrace(root: SpanID(1))
            #expect(harness.out.allSatisfy { $0.traceID == trace }, "split at \(split)")
            #expect(harness.record(3)?.parentSpanID == SpanID(2) && harness.record(2)?.parentSpanID == SpanID(1))
            #expect(harness.record(1)?.parentSpanID == nil)
        }
    }

    @Test func aRootFirstGivesItsTraceToChildrenThatComeLater() {
        var harness = Harness()
        harness.feed([Line(span: 1)])
        harness.feed([Line(span: 2, parent: 1)])
        harness.feed([Line(span: 3, parent: 2)])
        #expect(Set(harness.out.map(\.traceID)) == [TraceAssembler.derivedTrace(root: SpanID(1))])
        #expect(harness.assembler.pendingCount == 0)
    }

    @Test func twoTreesNeverShareATraceID() {
        var harness = Harness()
        harness.feed([Line(span: 11, parent: 10), Line(span: 21, parent: 20), Line(span: 20), Line(span: 10)])
        let first = Set([10, 11].compactMap { harness.record($0)?.traceID })
        let second = Set([20, 21].compactMap { harness.record($0)?.traceID })
        #expect(first.count == 1 && second.count == 1 && first != second)
    }

    @Test func anExplicitTraceIDIsKeptAndGivenToTheRestOfTheTree() {
        let explicit = TraceID(high: 7, low: 7), other = TraceID(high: 8, low: 8)
        var harness = Harness()
        harness.feed([Line(span: 3, parent: 2), Line(span: 2, parent: 1, trace: explicit), Line(span: 1),
                      Line(span: 4, parent: 1, trace: other)])
        #expect(harness.record(1)?.traceID == explicit && harness.record(3)?.traceID == explicit)
        #expect(harness.record(4)?.traceID == other, "a record that carries a trace id keeps it")
    }

    @Test func aMissingRootGivesTheTreeTheIDOfItsEarliestKnownAncestorWhenTheWaitRunsOut() {
        var harness = Harness()
        harness.feed([Line(span: 3, parent: 2), Line(span: 2, parent: 1)], at: 0)
        #expect(harness.out.isEmpty && harness.assembler.nextDeadline == 2 * Self.second)
        harness.expire(at: 2 * Self.second - 1)
        #expect(harness.out.isEmpty)
        harness.expire(at: 2 * Self.second)
        #expect(harness.out.count == 2)
        #expect(harness.out.allSatisfy { $0.traceID == TraceAssembler.derivedTrace(root: SpanID(1)) })
        // The root, late, still joins: its derived id is the same.
        harness.feed([Line(span: 1)], at: 3 * Self.second)
        #expect(harness.record(1)?.traceID == TraceAssembler.derivedTrace(root: SpanID(1)))
    }

    @Test func aStartLineAndAnEndLineAreOneSpan() {
        var harness = Harness()
        harness.feed([Line(span: 5, start: 10 * Self.second, end: nil, attributes: [("gen_ai.usage.input_tokens", .int(18))],
                           name: "chat")])
        #expect(harness.out.isEmpty, "a span whose end is not logged waits for it")
        harness.feed([Line(span: 5, start: 12 * Self.second, end: nil,
                           attributes: [("gen_ai.usage.output_tokens", .int(3)), ("gen_ai.usage.input_tokens", .int(20))],
                           name: "chat done")])
        harness.flush()
        #expect(harness.out.count == 1)
        let span = harness.out[0]
        #expect(span.startTime == 10 * Self.second && span.endTime == 12 * Self.second)
        #expect(span.attributes["gen_ai.usage.input_tokens"] == .int(20) && span.attributes["gen_ai.usage.output_tokens"] == .int(3))
        #expect(span.name == "chat")
    }

    @Test func aLineStatingTheEndClosesTheSpanAtOnceAndALaterLineBecomesAChild() {
        var harness = Harness()
        harness.feed([Line(span: 5, start: 100, end: nil)])
        harness.feed([Line(span: 5, start: 150, end: 300)])
        #expect(harness.out.count == 1 && harness.out[0].startTime == 100 && harness.out[0].endTime == 300)
        harness.feed([Line(span: 5, start: 400, end: nil)])
        harness.flush()
        #expect(harness.out.count == 2)
        #expect(harness.out.filter { $0.spanID == SpanID(5) }.count == 1, "two spans with one id are never sent")
        #expect(harness.out[1].parentSpanID == SpanID(5) && harness.out[1].traceID == harness.out[0].traceID)
    }

    @Test func theNameOfALaterLineWinsOnlyWhenItIsExplicit() {
        var first = Record(raw: 0..<0, position: SourcePosition(source: "t", offsets: 0..<1), observedTime: 0)
        first.name = "from a message"
        var later = first
        later.name = "another message"
        first.absorb(later)
        #expect(first.name == "from a message")
        later.name = "explicit"
        later.nameIsExplicit = true
        later.status = .error(message: "boom", stacktrace: [])
        first.absorb(later)
        #expect(first.name == "explicit")
        first.absorb(Record(raw: 0..<0, position: later.position, observedTime: 0))
        #expect(first.status == .error(message: "boom", stacktrace: []), "in error when any line is")
    }

    @Test func correlationFieldsGroupRecordsWithoutIDs() {
        var harness = Harness()
        harness.feed([Line(attributes: [("request_id", .string("req-1"))]), Line(attributes: [("request_id", .string("req-1"))]),
                      Line(attributes: [("correlation_id", .string("req-2"))]), Line()])
        #expect(harness.out[0].traceID != nil && harness.out[0].traceID == harness.out[1].traceID)
        #expect(harness.out[2].traceID != nil && harness.out[2].traceID != harness.out[0].traceID)
        #expect(harness.out[3].traceID == nil, "left to the position default")
        #expect(harness.assembler.pendingCount == 0)
    }

    @Test func overflowEmitsTheOldestEarlyAndBoundsWhatIsHeld() {
        var harness = Harness(maxPending: 2)
        harness.feed((0..<5).map { Line(span: 100 + UInt64($0), parent: 50 + UInt64($0)) })
        #expect(harness.assembler.pendingCount == 2)
        #expect(harness.out.map(\.spanID) == [SpanID(100), SpanID(101), SpanID(102)])
        #expect(harness.record(100)?.traceID == TraceAssembler.derivedTrace(root: SpanID(50)))
    }

    @Test func anInputBatchIsAcknowledgedOnceAfterEveryRecordFromItWasDelivered() {
        var harness = Harness()
        harness.feed([Line(span: 3, parent: 2), Line(span: 9)]) // batch 0: the child waits, 9 goes out
        harness.feed([Line(span: 5, end: nil)]) // batch 1: an open span waits
        harness.feed([Line(span: 2), Line(span: 5)]) // batch 2: releases the child and closes span 5
        #expect(harness.emitted.count == 3)
        // Settle in reverse: batch 0 is done only with the last share.
        harness.emitted[2].acknowledge(AckToken(0), status: .deadLettered)
        #expect(harness.receiver.tokens == [1, 2], "batch 1's span and batch 2 went out in the third output batch")
        harness.emitted[1].acknowledge(AckToken(0), status: .delivered)
        harness.emitted[0].acknowledge(AckToken(0), status: .delivered)
        #expect(harness.receiver.tokens == [1, 2, 0])
        #expect(harness.receiver.told.withLock { $0.map(\.1) } == [.deadLettered, .deadLettered, .deadLettered])
        harness.emitted[0].acknowledge(AckToken(0), status: .delivered)
        #expect(harness.receiver.tokens.count == 3, "told exactly once")
    }

    @Test func heldRecordsDroppedAtShutdownAbandonTheirBatch() {
        var harness = Harness()
        harness.feed([Line(span: 3, parent: 2)])
        #expect(harness.receiver.tokens.isEmpty)
        harness.assembler = Harness().assembler // what it held is gone
        #expect(harness.receiver.told.withLock { $0.map(\.1) } == [.abandoned])
    }
}
