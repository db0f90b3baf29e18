import Testing
import TestSupport
@testable import TraceTailCore

/// `RecentSpans` against the simplest model of its contract: two dictionaries, the newer moved to the older when
/// it holds `capacity` ids. Random writes and reads over a small id space (so that ids collide in the table,
/// repeat across generations and are forgotten), with seeds.
@Suite struct RecentSpansTests {
    struct Model {
        var newer: [UInt64: TraceAssembler.Known] = [:]
        var older: [UInt64: TraceAssembler.Known] = [:]
        let capacity: Int

        subscript(span: UInt64) -> TraceAssembler.Known? { newer[span] ?? older[span] }

        mutating func set(_ span: UInt64, _ known: TraceAssembler.Known) {
            guard span != 0 else { return }
            newer[span] = known
            if newer.count >= capacity { (older, newer) = (newer, [:]) }
        }
    }

    @Test(arguments: 1...20)
    func agreesWithTwoDictionaries(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let capacity = Int(random.next() % 40) + 1
        var spans = RecentSpans(capacity: capacity)
        var model = Model(capacity: capacity)
        let ids = UInt64(capacity * 3)
        for step in 0..<5_000 {
            // Ids share their low bits (a multiple of 2^40 apart) as often as not, to collide in the table.
            let id = (random.next() % ids) << (random.next() % 2 == 0 ? 0 : 40)
            if random.next() % 2 == 0 {
                let known = TraceAssembler.Known(trace: TraceID(high: random.next(), low: 1), sent: random.next() % 2 == 0)
                spans.set(SpanID(id), known)
                model.set(id, known)
            } else {
                let (found, expected) = (spans[SpanID(id)], model[id])
                #expect(found?.trace == expected?.trace && found?.sent == expected?.sent,
                        "seed \(seed), step \(step), id \(id): \(String(describing: found)) != \(String(describing: expected))")
                if found?.trace != expected?.trace { return }
            }
        }
    }

}
