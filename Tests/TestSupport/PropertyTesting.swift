import Foundation

/// Model-based tests: which seeds a run generates its operation sequences from (`SeededRandom`; a failing one is
/// cut down with `SequenceShrinker`).
public enum PropertyCheck {
    /// The seeds a run uses: `TRACETAIL_SEED` replays one; otherwise `count` seeds from a fixed start, or
    /// `TRACETAIL_PROPERTY_RUNS` of them.
    public static func seeds(count: Int) -> [UInt64] {
        let environment = ProcessInfo.processInfo.environment
        if let seed = environment["TRACETAIL_SEED"].flatMap({ UInt64($0) }) { return [seed] }
        let runs = environment["TRACETAIL_PROPERTY_RUNS"].flatMap { Int($0) } ?? count
        return (0..<UInt64(runs)).map { 0x7261_6365_0000_0000 &+ $0 }
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
