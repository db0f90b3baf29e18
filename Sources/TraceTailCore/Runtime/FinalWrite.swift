import Synchronization

/// The last writes of a stage at shutdown (final checkpoints, a disk queue's position and sync): they keep what
/// the drain earned, so the grace period's deadline must not cancel them — but they must not hang the exit either.
public enum FinalWrite {
    /// `work` took longer than its bound.
    public struct TimedOut: Error, Sendable, CustomStringConvertible {
        public var limit: Duration
        public var description: String { "the final write did not finish within \(limit)" }
    }

    /// Runs `work` to its end in a task of its own, which the caller's cancellation does not reach, and waits at
    /// most `limit` for it; throws what `work` threw, or `TimedOut` (the work then goes on unattended while the
    /// process exits).
    public static func run(within limit: Duration, _ work: @escaping @Sendable () async throws -> Void) async throws {
        let outcome = Outcome()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            outcome.set(continuation)
            let timer = Task.detached {
                try await Task.sleep(for: limit)
                outcome.resume(with: .failure(TimedOut(limit: limit)))
            }
            Task.detached {
                let result: Result<Void, any Error>
                do {
                    try await work()
                    result = .success(())
                } catch {
                    result = .failure(error)
                }
                timer.cancel()
                outcome.resume(with: result)
            }
        }
    }

    /// Resumes the waiting caller once, with whichever comes first: the work's result or the timeout.
    private final class Outcome: Sendable {
        private let continuation = Mutex<CheckedContinuation<Void, any Error>?>(nil)

        func set(_ waiting: CheckedContinuation<Void, any Error>) {
            continuation.withLock { $0 = waiting }
        }

        func resume(with result: Result<Void, any Error>) {
            continuation.withLock { waiting in
                defer { waiting = nil }
                return waiting
            }?.resume(with: result)
        }
    }
}
