import Testing
@testable import TraceTailCore

/// Feeds `chunks` to a splitter; returns each record's text and offsets.
func split(_ chunks: [String], maxLineBytes: Int = 1 << 20, flush: Bool = false) -> [(String, Range<UInt64>, Bool)] {
    var splitter = LineSplitter(source: "test", maxLineBytes: maxLineBytes)
    var batch = RecordBatch(ack: AckToken(0))
    for chunk in chunks {
        Array(chunk.utf8).withUnsafeBytes { splitter.consume($0, into: &batch, observedTime: 0) }
    }
    if flush { splitter.flushPartial(into: &batch, observedTime: 0) }
    return batch.records.map { record in
        (batch.rawText(record), record.position.offsets, record.attributes["tracetail.truncated"] == .bool(true))
    }
}

@Suite struct LineSplitterTests {
    @Test func splitsOnNewlinesAndStripsCarriageReturns() {
        let lines = split(["one\ntwo\r\n\nthree\n"])
        #expect(lines.map(\.0) == ["one", "two", "three"])
        #expect(lines.map(\.1) == [0..<4, 4..<9, 10..<16])
    }

    @Test func aPartialLineWaitsForItsNewlineAndIsEmittedOnceWhole() {
        let lines = split(["par", "tial li", "ne\nnext", "\n"])
        #expect(lines.map(\.0) == ["partial line", "next"])
        #expect(lines.map(\.1) == [0..<13, 13..<18])
        #expect(split(["no newline"]).isEmpty)
        #expect(split(["no newline"], flush: true).map(\.0) == ["no newline"])
    }

    @Test func longLinesAreCutMarkedAndTheRestSkipped() {
        let lines = split(["0123456789abc\nok\n"], maxLineBytes: 5)
        #expect(lines.map(\.0) == ["01234", "ok"])
        #expect(lines.map(\.2) == [true, false])
        #expect(lines.map(\.1) == [0..<14, 14..<17])
        let spread = split(["0123", "4567", "89\nok\n"], maxLineBytes: 5)
        #expect(spread.map(\.0) == ["01234", "ok"])
        #expect(spread.map(\.2) == [true, false])
        #expect(spread.map(\.1) == [0..<11, 11..<14])
    }

    @Test func aTenMebibyteLineIsHandled() {
        let big = String(repeating: "x", count: 10 << 20)
        let lines = split([big + "\nafter\n"], maxLineBytes: 1 << 20)
        #expect(lines.count == 2)
        #expect(lines[0].0.utf8.count == 1 << 20)
        #expect(lines[0].2)
        #expect(lines[1].0 == "after")
        #expect(lines[1].1 == UInt64(10 << 20) + 1..<UInt64(10 << 20) + 7)
    }
}

@Suite struct IdentifierTests {
    @Test func hexIdsParseAndPrint() {
        #expect(TraceID(hex: "4bf92f3577b34da6a3ce929d0e0e4736")?.description == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(TraceID(hex: "4BF92F3577B34DA6A3CE929D0E0E4736")?.description == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(TraceID(hex: "00000000000000000000000000000000") == nil)
        #expect(TraceID(hex: "4bf92f3577b34da6") == nil)
        #expect(SpanID(hex: "00f067aa0ba902b7")?.description == "00f067aa0ba902b7")
        #expect(SpanID(hex: "zzf067aa0ba902b7") == nil)
    }

    @Test func hashedIdsAreStableAndDistinct() {
        // Pinned values (computed independently): they must never change between versions, or spans re-sent after
        // an upgrade would get new ids and be duplicated at the backend.
        #expect(TraceID(hashing: Array("request-1".utf8)).description == "37243ba045a27f6cb9a2cdceff2b3a0e")
        #expect(SpanID(hashing: Array("request-1".utf8)).description == "8d955fd78d3a3384")
        let ids = Set((0..<10_000).map { SpanID(hashing: Array("file|\($0)".utf8)) })
        #expect(ids.count == 10_000)
    }

    @Test func timestampsFormatInUTC() {
        #expect(Timestamp.rfc3339(nanoseconds: 1_767_225_600_123_456_789) == "2026-01-01T00:00:00.123Z")
        #expect(Timestamp.rfc3339(nanoseconds: 951_782_400_000_000_000, fractionDigits: 0) == "2000-02-29T00:00:00Z")
        #expect(Timestamp.rfc3339(nanoseconds: 0, fractionDigits: 9) == "1970-01-01T00:00:00.000000000Z")
    }
}
