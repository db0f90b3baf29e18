import Logging
import ServiceLifecycle
import Synchronization

/// Runs a configuration's pipelines and applies reloads: a new configuration replaces only the pipelines that
/// changed (the old one stops its input and drains — everything it read is delivered and checkpointed — before
/// the new one starts from those checkpoints), adds new ones and stops removed ones; the others run on
/// untouched. An invalid configuration is reported and changes nothing.
public final class PipelineSupervisor: Service, Sendable {
    /// What a reload did, or why it did nothing.
    public enum ReloadResult: Sendable, CustomStringConvertible {
        case applied(started: [String], restarted: [String], stopped: [String], unchanged: [String])
        case failed(String)

        public var description: String {
            switch self {
            case .applied(let started, let restarted, let stopped, let unchanged):
                return "reloaded: started [\(started.joined(separator: ", "))], restarted [\(restarted.joined(separator: ", "))], "
                    + "stopped [\(stopped.joined(separator: ", "))], unchanged [\(unchanged.joined(separator: ", "))]"
            case .failed(let reason): return reason
            }
        }
    }

    private struct Running {
        var fingerprint: String
        var pipeline: Pipeline
        var ended: StopSignal
    }

    private struct State {
        var running: [String: Running] = [:]
        var active = 0
        var applying = false
        var shuttingDown = false
        var failures: [PipelineError] = []
    }

    private struct Request: Sendable {
        var reply: @Sendable (ReloadResult) -> Void
    }

    private let initial: TraceTailConfig
    private let logger: Logger
    private let once: Bool
    private let health: Health?
    private let load: (@Sendable () throws -> TraceTailConfig)?
    private let state = Mutex(State())
    private let requests: AsyncStream<Request>
    private let requester: AsyncStream<Request>.Continuation

    /// - Parameter load: reads the configuration again for a reload (nil: reloads are refused).
    public init(config: TraceTailConfig, logger: Logger, once: Bool = false, health: Health? = nil,
                load: (@Sendable () throws -> TraceTailConfig)? = nil) {
        initial = config
        self.logger = logger
        self.once = once
        self.health = health
        self.load = load
        (requests, requester) = AsyncStream.makeStream(of: Request.self)
    }

    /// Pipelines that failed or could not start.
    public var failures: [PipelineError] { state.withLock { $0.failures } }

    /// Re-reads the configuration and applies it; returns what happened.
    public func reload() async -> ReloadResult {
        await withCheckedContinuation { continuation in
            let request = Request { continuation.resume(returning: $0) }
            if case .terminated = requester.yield(request) { continuation.resume(returning: .failed("not running")) }
        }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                for spec in initial.pipelines { start(spec, dataDirectory: initial.service.dataDirectory, in: &group) }
                finishIfIdle()
                for await request in requests {
                    request.reply(await apply(in: &group))
                }
            }
        } onGracefulShutdown: {
            // Each pipeline stops its input on the same signal; no reload may start new ones now.
            self.state.withLock { $0.shuttingDown = true }
        }
    }

    private func start(_ spec: PipelineSpec, dataDirectory: String, in group: inout TaskGroup<Void>) {
        let pipeline: Pipeline
        do {
            pipeline = try Pipeline(spec: spec, dataDirectory: dataDirectory, logger: logger, once: once, health: health)
        } catch {
            let failure = error as? PipelineError ?? PipelineError(pipeline: spec.name, message: "\(error)")
            logger.error("pipeline cannot start", metadata: ["pipeline": "\(spec.name)", "error": "\(failure.message)"])
            state.withLock { $0.failures.append(failure) }
            return
        }
        let ended = StopSignal()
        state.withLock { state in
            state.running[spec.name] = Running(fingerprint: dataDirectory + "|" + spec.fingerprint, pipeline: pipeline, ended: ended)
            state.active += 1
        }
        group.addTask { [self] in
            do {
                try await pipeline.run()
            } catch {
                let failure = error as? PipelineError ?? PipelineError(pipeline: spec.name, message: "\(error)")
                logger.error("pipeline failed", metadata: ["pipeline": "\(spec.name)", "error": "\(failure.message)"])
                state.withLock { $0.failures.append(failure) }
            }
            state.withLock { state in
                state.active -= 1
                if state.running[spec.name]?.ended === ended { state.running[spec.name] = nil }
            }
            ended.stop()
            finishIfIdle()
        }
    }

    /// With no pipeline left (and no reload under way) the supervisor is done.
    private func finishIfIdle() {
        if state.withLock({ $0.active == 0 && !$0.applying }) { requester.finish() }
    }

    private func apply(in group: inout TaskGroup<Void>) async -> ReloadResult {
        guard let load else { return .failed("reloading is not possible here") }
        let config: TraceTailConfig
        do {
            config = try load()
        } catch {
            let reason = "the new configuration is invalid; the running pipelines go on:\n\(error)"
            logger.error("reload failed", metadata: ["error": "\(error)"])
            return .failed(reason)
        }
        let running = state.withLock { state -> [String: Running]? in
            guard !state.shuttingDown else { return nil }
            state.applying = true
            return state.running
        }
        guard let running else { return .failed("shutting down") }
        defer {
            state.withLock { $0.applying = false }
            finishIfIdle()
        }
        var started: [String] = [], restarted: [String] = [], stopped: [String] = [], unchanged: [String] = []
        let wanted = Set(config.pipelines.map(\.name))
        for (name, old) in running.sorted(by: { $0.key < $1.key }) where !wanted.contains(name) {
            old.pipeline.stop()
            await old.ended.wait()
            health?.forget(pipeline: name)
            stopped.append(name)
        }
        for spec in config.pipelines {
            let fingerprint = config.service.dataDirectory + "|" + spec.fingerprint
            if let old = running[spec.name] {
                if old.fingerprint == fingerprint && !old.ended.isStopped {
                    unchanged.append(spec.name)
                    continue
                }
                // Drained and checkpointed before the new one reads the same checkpoints.
                old.pipeline.stop()
                await old.ended.wait()
                restarted.append(spec.name)
            } else {
                started.append(spec.name)
            }
            start(spec, dataDirectory: config.service.dataDirectory, in: &group)
        }
        let result = ReloadResult.applied(started: started, restarted: restarted, stopped: stopped, unchanged: unchanged)
        logger.info("configuration reloaded", metadata: [
            "started": "\(started)", "restarted": "\(restarted)", "stopped": "\(stopped)", "unchanged": "\(unchanged)",
        ])
        return result
    }
}
