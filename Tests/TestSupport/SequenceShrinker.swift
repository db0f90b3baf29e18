/// Shrinks a failing sequence by delta debugging (Zeller's ddmin, complements only): remove one of n chunks
/// (halves first, then quarters, … down to single elements) and keep the result whenever it still fails. Each try
/// reruns the real binary, so it stops after `maxRuns` tries or once `budget` has passed, returning the smallest
/// failing sequence found so far.
public struct SequenceShrinker<Element: Sendable>: Sendable {
    public var maxRuns: Int
    public var budget: Duration

    public init(maxRuns: Int, budget: Duration) {
        self.maxRuns = maxRuns
        self.budget = budget
    }

    /// - Parameter fails: runs a candidate; true when it still fails (the same way).
    /// - Returns: the smallest failing sequence found, and how many reruns it took.
    public func shrink(_ failing: [Element], fails: ([Element]) async throws -> Bool) async rethrows -> (sequence: [Element], runs: Int) {
        let deadline = ContinuousClock.now + budget
        var current = failing
        var chunks = 2
        var runs = 0
        search: while current.count >= 2 {
            let size = (current.count + chunks - 1) / chunks
            for start in stride(from: 0, to: current.count, by: size) {
                guard runs < maxRuns, ContinuousClock.now < deadline else { break search }
                var candidate = current
                candidate.removeSubrange(start..<min(start + size, current.count))
                runs += 1
                if try await fails(candidate) {
                    current = candidate
                    chunks = max(chunks - 1, 2)
                    continue search
                }
            }
            guard chunks < current.count else { break }
            chunks = min(chunks * 2, current.count)
        }
        return (current, runs)
    }
}
