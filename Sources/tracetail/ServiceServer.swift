import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import TraceTailCore
#if canImport(Glibc)
import Glibc
#endif

/// The service HTTP server (`service.http`): `/metrics` in Prometheus text format (every metric the plugins
/// record, plus the process's RSS, CPU and open file descriptors), `/healthz` (the process answers), `/readyz`
/// (every pipeline runs and no output has been failing for longer than `ready_failure_threshold`) and
/// `POST /-/reload` (re-read the configuration, as SIGHUP does).
struct ServiceServer: Service {
    let settings: ServiceHTTPSettings
    let registry: PrometheusCollectorRegistry
    let health: Health
    let supervisor: PipelineSupervisor
    let logger: Logger

    func run() async throws {
        let process = ProcessMetrics(registry: registry)
        let router = Router()
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/readyz") { [settings, health] _, _ -> Response in
            let (ready, problems) = health.readiness(threshold: settings.readyFailureThreshold.duration)
            let text = ready ? "ready\n" : problems.joined(separator: "\n") + "\n"
            return Response(status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.post("/-/reload") { [supervisor] _, _ -> Response in
            let result = await supervisor.reload()
            let status: HTTPResponse.Status = if case .applied = result { .ok } else { .badRequest }
            return Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: "\(result)\n")))
        }
        router.get("/metrics") { [registry] _, _ -> Response in
            process.update()
            DiskQueue.refreshGauges()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        let listen = settings.listen
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: "tracetail"),
            onServerRunning: { [logger] channel in
                logger.info("service listening", metadata: [
                    "address": "\(listen.host):\(channel.localAddress?.port ?? listen.port)", "routes": "/metrics /healthz /readyz",
                ])
            },
            logger: Logger(label: "tracetail.service", factory: { _ in SwiftLogNoOpLogHandler() }))
        do {
            try await app.run()
        } catch {
            // The pipelines run on without it (e.g. the port is taken); say so once.
            logger.error("the service server cannot run", metadata: ["listen": "\(listen)", "error": "\(error)"])
        }
    }
}

/// The process's own figures, read from /proc when scraped.
struct ProcessMetrics: Sendable {
    let residentBytes: Gauge
    let cpuSeconds: Gauge
    let openFiles: Gauge

    init(registry: PrometheusCollectorRegistry) {
        func gauge(_ name: String, _ unit: String, _ help: String) -> Gauge {
            registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "process", metricName: name, unitName: unit, helpText: help))
        }
        residentBytes = gauge("resident_memory", "bytes", "Resident memory size in bytes.")
        cpuSeconds = gauge("cpu_seconds", "total", "User and system CPU time spent in seconds.")
        openFiles = gauge("open", "fds", "Number of open file descriptors.")
    }

    func update() {
        var usage = rusage()
        if getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 {
            let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
            cpuSeconds.set(user + system)
        }
        if let statm = try? FileSystem.read("/proc/self/statm"),
           let pages = String(decoding: statm, as: UTF8.self).split(separator: " ").dropFirst().first.flatMap({ Int($0) }) {
            residentBytes.set(Double(pages * Int(sysconf(Int32(_SC_PAGESIZE)))))
        }
        if let directory = opendir("/proc/self/fd") {
            var count = 0
            while readdir(directory) != nil { count += 1 }
            closedir(directory)
            openFiles.set(Double(max(0, count - 3))) // not ".", ".." and the directory's own descriptor
        }
    }
}
