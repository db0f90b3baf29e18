/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny seeded generator, so that a seed names exactly one generated
/// test case on every machine and every Swift version. Its own `below(_:)` and `chance(_:)` are used instead of
/// the standard library's `random(in:using:)`, whose way of drawing from a generator is not promised to stay the
/// same across Swift releases.
public struct SeededRandom: RandomNumberGenerator, Sendable {
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

    /// A number in `0..<bound` (Lemire's multiply-high; the tiny bias is irrelevant for test generation).
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0)
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// A number in `range`.
    public mutating func between(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.count)
    }

    /// True with probability `percent`/100.
    public mutating func chance(_ percent: Int) -> Bool {
        below(100) < percent
    }

    /// One of `choices`, each with its weight.
    public mutating func weighted<T>(_ choices: [(weight: Int, value: T)]) -> T {
        var pick = below(choices.reduce(0) { $0 + $1.weight })
        for choice in choices {
            if pick < choice.weight { return choice.value }
            pick -= choice.weight
        }
        return choices[choices.count - 1].value
    }
}
