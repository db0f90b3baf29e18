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

    /// Runs every pipeline (through `supervisor`, which a caller keeps to trigger reloads), and `alongside` (e.g.
    /// the service HTTP server) until the last pipeline ended.
    /// - Parameter once: inputs read what is there to its end and stop (`run --once`).
    public static func run(
        _ config: TraceTailConfig, logger: Logger, handleSignals: Bool = true, once: Bool = false,
        health: Health? = nil, alongside: [any Service] = [], supervisor: PipelineSupervisor? = nil
    ) async -> Outcome {
        let supervisor = supervisor ?? PipelineSupervisor(config: config, logger: logger, once: once, health: health)
        let group = GroupHandle()
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: EndingService(service: supervisor, ended: group.pipelinesEnded),
                  successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore),
        ]
        for service in alongside {
            services.append(.init(service: service, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore))
        }
        var failures: [PipelineError] = []
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
        return Outcome(failures: failures + supervisor.failures)
    }
}

/// Runs a service and says when it ended.
private struct EndingService: Service {
    let service: any Service
    let ended: @Sendable () -> Void

    func run() async throws {
        defer { ended() }
        try await service.run()
    }
}

/// Ends the service group once the pipelines ended, so that services running alongside (which would run
/// forever) stop with them.
private final class GroupHandle: Sendable {
    private let group = Mutex<ServiceGroup?>(nil)
    private let ended = Atomic<Bool>(false)

    func set(_ serviceGroup: ServiceGroup?) {
        group.withLock { $0 = serviceGroup }
        if ended.load(ordering: .acquiring) { shutDown() }
    }

    @Sendable func pipelinesEnded() {
        ended.store(true, ordering: .releasing)
        shutDown()
    }

    private func shutDown() {
        guard let serviceGroup = group.withLock({ $0 }) else { return }
        Task { await serviceGroup.triggerGracefulShutdown() }
    }
}

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
