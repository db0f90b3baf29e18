import Synchronization

/// What the process knows about its own health, for `/readyz`: which pipelines run, which outputs have been
/// failing (retrying or dead-lettering) and since when, and which stages cannot write to the data directory.
public final class Health: Sendable {
    public enum PipelineState: String, Sendable {
        case starting, running, stopped, failed
    }

    private struct State {
        var pipelines: [String: PipelineState] = [:]
        /// Per `pipeline/stage`: when it began failing and why.
        var failing: [String: (since: ContinuousClock.Instant, reason: String)] = [:]
        /// Per `pipeline/stage/file`: why the last write of that kind of file into the data directory failed.
        var cannotWrite: [String: String] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func pipeline(_ name: String, _ pipelineState: PipelineState) {
        state.withLock { $0.pipelines[name] = pipelineState }
    }

    /// A pipeline a reload removed: no longer expected to run.
    public func forget(pipeline name: String) {
        state.withLock { state in
            state.pipelines[name] = nil
            state.failing = state.failing.filter { !$0.key.hasPrefix(name + "/") }
            state.cannotWrite = state.cannotWrite.filter { !$0.key.hasPrefix(name + "/") }
        }
    }

    /// The handle one stage reports through.
    public func stage(pipeline: String, stage: String) -> StageHealth {
        StageHealth(health: self, key: "\(pipeline)/\(stage)")
    }

    func failing(_ key: String, _ reason: String) {
        state.withLock { state in
            let since = state.failing[key]?.since ?? .now
            state.failing[key] = (since, Redactor.shared.redact(reason))
        }
    }

    func healthy(_ key: String) {
        _ = state.withLock { $0.failing.removeValue(forKey: key) }
    }

    func cannotWrite(_ key: String, _ reason: String?) {
        state.withLock { $0.cannotWrite[key] = reason }
    }

    /// Ready when every pipeline runs, no output has been failing for longer than `threshold` and every write to
    /// the data directory works; otherwise the reasons.
    public func readiness(threshold: Duration, now: ContinuousClock.Instant = .now) -> (ready: Bool, problems: [String]) {
        state.withLock { state in
            var problems: [String] = []
            for (name, pipelineState) in state.pipelines.sorted(by: { $0.key < $1.key }) where pipelineState != .running {
                problems.append("pipeline \(name) is \(pipelineState.rawValue)")
            }
            if state.pipelines.isEmpty { problems.append("no pipeline is running") }
            for (key, failure) in state.failing.sorted(by: { $0.key < $1.key }) where now - failure.since > threshold {
                problems.append("\(key) failing since \(now - failure.since) ago: \(failure.reason)")
            }
            for (key, reason) in state.cannotWrite.sorted(by: { $0.key < $1.key }) {
                problems.append("\(key): \(reason)")
            }
            return (problems.isEmpty, problems)
        }
    }
}

/// One stage's reports to the process's health.
public struct StageHealth: Sendable {
    let health: Health?
    let key: String

    /// A stage that reports nowhere (plugins built outside a pipeline, e.g. in tests).
    public static let detached = StageHealth(health: nil, key: "")

    /// A delivery failed (it is being retried, or was dead-lettered).
    public func failing(_ reason: String) { health?.failing(key, reason) }

    /// A delivery succeeded.
    public func healthy() { health?.healthy(key) }

    /// Writing one kind of file (`DataFile`) into the data directory fails: not ready until it works again.
    func dataWriteFailing(_ file: String, _ reason: String) { health?.cannotWrite(key + "/" + file, reason) }

    /// Writing that kind of file works again.
    func dataWriteRecovered(_ file: String) { health?.cannotWrite(key + "/" + file, nil) }
}
