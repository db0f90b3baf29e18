import Synchronization

/// At most `requests` requests in any window of `per` (LangWatch's ingest allows 60 a minute): `acquire` waits
/// for room.
public final class RequestBudget: Sendable {
    private let requests: Int
    private let window: Duration
    private let sent = Mutex<[ContinuousClock.Instant]>([])

    public init(requests: Int, per window: Duration) {
        self.requests = requests
        self.window = window
    }

    public func acquire() async throws {
        while true {
            let wait = sent.withLock { sent -> Duration? in
                let now = ContinuousClock.now
                sent.removeAll { now - $0 >= window }
                guard sent.count >= requests else {
                    sent.append(now)
                    return nil
                }
                return sent[0] + window - now
            }
            guard let wait else { return }
            try await Task.sleep(for: wait)
        }
    }
}
