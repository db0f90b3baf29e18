import Foundation

/// A small, seeded random generator (SplitMix64): the same seed gives the same operations on every machine, so a
/// failure printed with its seed can be replayed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Model-based testing: runs generated operation sequences, and shrinks a failing one to a smallest failing
/// sequence (removing chunks, then single operations, while it still fails).
public enum PropertyCheck {
    /// The seeds a run uses: `TRACETAIL_SEED` replays one; otherwise `count` seeds from a fixed start, or
    /// `TRACETAIL_PROPERTY_RUNS` of them.
    public static func seeds(count: Int) -> [UInt64] {
        let environment = ProcessInfo.processInfo.environment
        if let seed = environment["TRACETAIL_SEED"].flatMap({ UInt64($0) }) { return [seed] }
        let runs = environment["TRACETAIL_PROPERTY_RUNS"].flatMap { Int($0) } ?? count
        return (0..<UInt64(runs)).map { 0x7261_6365_0000_0000 &+ $0 }
    }

    /// Shrinks `operations`, for which `fails` is true, to a sequence that still fails and from which no single
    /// operation can be removed; at most `budget` tries.
    public static func shrink<Operation>(_ operations: [Operation], budget: Int = 2_000,
                                         fails: ([Operation]) throws -> Bool) rethrows -> [Operation] {
        var smallest = operations
        var tries = 0
        var chunk = max(1, smallest.count / 2)
        while chunk >= 1 && tries < budget {
            var removedAny = false
            var start = 0
            while start < smallest.count && tries < budget {
                var candidate = smallest
                candidate.removeSubrange(start..<min(start + chunk, candidate.count))
                tries += 1
                if try fails(candidate) {
                    smallest = candidate
                    removedAny = true
                } else {
                    start += chunk
                }
            }
            if !removedAny { chunk /= 2 }
        }
        return smallest
    }
}

/// Runs slow synchronous work (a property test's many runs) on a thread of its own: a synchronous test holds one
/// of the cooperative threads every other test's tasks need (two on a two-core machine) for as long as it runs, and
/// the waiting tests then time out under load.
public func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}
