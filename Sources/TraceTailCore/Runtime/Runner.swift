import Dispatch
import Logging
import ServiceLifecycle
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs every pipeline of a configuration concurrently until they end or the process is told to stop.
///
/// SIGTERM or SIGINT starts a graceful shutdown (inputs stop, queues drain, outputs flush) bounded by the grace
/// period; a second signal exits at once. A pipeline that fails is reported and the others keep running.
public enum Runner {
    /// What happened to each pipeline.
    public struct Outcome: Sendable {
        public var failures: [PipelineError]
        public var succeeded: Bool { failures.isEmpty }
    }

    /// - Parameter once: inputs read what is there to its end and stop (`run --once`).
    /// Runs every pipeline, and `alongside` (e.g. the service HTTP server) until the last pipeline ended.
    public static func run(
        _ config: TraceTailConfig, logger: Logger, handleSignals: Bool = true, once: Bool = false,
        health: Health? = nil, alongside: [any Service] = []
    ) async -> Outcome {
        var failures: [PipelineError] = []
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        let reported = Mutex<[PipelineError]>([])
        let group = GroupHandle()
        for spec in config.pipelines {
            do {
                let pipeline = try Pipeline(spec: spec, dataDirectory: config.service.dataDirectory, logger: logger, once: once,
                                            health: health)
                let service = ReportingService(pipeline: pipeline, logger: logger, ended: group.pipelineEnded) { error in
                    reported.withLock { $0.append(error) }
                }
                services.append(.init(service: service, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore))
            } catch let error as PipelineError {
                logger.error("pipeline cannot start", metadata: ["pipeline": "\(spec.name)", "error": "\(error.message)"])
                failures.append(error)
            } catch {
                failures.append(PipelineError(pipeline: spec.name, message: "\(error)"))
            }
        }
        guard !services.isEmpty else { return Outcome(failures: failures) }
        group.pipelines.store(services.count, ordering: .relaxed)
        for service in alongside {
            services.append(.init(service: service, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore))
        }

        var groupConfiguration = ServiceGroupConfiguration(
            services: services,
            gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [],
            logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = config.service.gracePeriod.duration
        // ServiceLifecycle would end a stuck cancellation with a crash report; ShutdownWatch exits plainly instead.
        groupConfiguration.maximumCancellationDuration = nil
        let escalation = handleSignals
            ? ShutdownWatch(logger: logger, deadline: config.service.gracePeriod.duration + .seconds(5)) : nil
        defer { escalation?.cancel() }
        do {
            let serviceGroup = ServiceGroup(configuration: groupConfiguration)
            group.set(alongside.isEmpty ? nil : serviceGroup)
            try await serviceGroup.run()
        } catch {
            logger.error("service group failed", metadata: ["error": "\(error)"])
            failures.append(PipelineError(pipeline: "*", message: "\(error)"))
        }
        return Outcome(failures: failures + reported.withLock { $0 })
    }
}

/// Runs a pipeline and reports its failure instead of taking the group down.
private struct ReportingService: Service {
    let pipeline: Pipeline
    let logger: Logger
    let ended: @Sendable () -> Void
    let report: @Sendable (PipelineError) -> Void

    func run() async throws {
        defer { ended() }
        do {
            try await pipeline.run()
        } catch let error as PipelineError {
            logger.error("pipeline failed", metadata: ["pipeline": "\(pipeline.spec.name)", "error": "\(error.message)"])
            report(error)
        }
    }
}

/// Ends the service group once the last pipeline ended, so that services running alongside (which would run
/// forever) stop with them.
private final class GroupHandle: Sendable {
    let pipelines = Atomic<Int>(0)
    private let group = Mutex<ServiceGroup?>(nil)
    private let ended = Atomic<Bool>(false)

    func set(_ serviceGroup: ServiceGroup?) {
        group.withLock { $0 = serviceGroup }
        if ended.load(ordering: .acquiring) { shutDown() }
    }

    @Sendable func pipelineEnded() {
        if pipelines.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
            ended.store(true, ordering: .releasing)
            shutDown()
        }
    }

    private func shutDown() {
        guard let serviceGroup = group.withLock({ $0 }) else { return }
        Task { await serviceGroup.triggerGracefulShutdown() }
    }
}

/// Exits the process on a second SIGTERM/SIGINT (the user asked twice, so the drain is abandoned), or when a
/// shutdown has not finished by its deadline. State on disk stays consistent because checkpoint writes are atomic.
private final class ShutdownWatch {
    private final class Count: Sendable {
        let value = Atomic<Int>(0)
    }

    private let sources: [any DispatchSourceSignal]

    init(logger: Logger, deadline: Duration) {
        let count = Count()
        let seconds = Double(deadline.components.seconds) + Double(deadline.components.attoseconds) / 1e18
        sources = [SIGTERM, SIGINT].map { signalNumber in
            signal(signalNumber, SIG_IGN) // delivered to the dispatch sources instead
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                let received = count.value.add(1, ordering: .relaxed).newValue
                if received >= 2 {
                    logger.warning("second signal: exiting without draining")
                    exit(128 + signalNumber)
                }
                DispatchQueue.global().asyncAfter(deadline: .now() + seconds) {
                    logger.error("shutdown did not finish within the grace period; exiting with work unacknowledged")
                    exit(1)
                }
            }
            source.resume()
            return source
        }
    }

    func cancel() { sources.forEach { $0.cancel() } }
}
