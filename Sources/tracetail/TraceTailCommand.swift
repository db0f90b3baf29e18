import ArgumentParser
import Dispatch
import BuiltinPlugins
import CMalloc
import CoreMetrics
import Prometheus
import ServiceLifecycle
import TraceTailCore
import Logging
#if canImport(Glibc)
import Glibc
#endif

@main
struct TraceTailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tracetail",
        abstract: "Tails application logs and ships them as LLM traces.",
        version: TraceTail.version,
        subcommands: [Run.self, Validate.self, TestCommand.self, Verify.self, Plugins.self])
}

/// Options every command that reads a configuration takes.
struct ConfigOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "The pipeline configuration (YAML).")
    var config: String

    /// Loads the configuration, printing every mistake to stderr.
    func load() throws -> TraceTailConfig {
        do {
            return try reload()
        } catch let error as ConfigErrors {
            for diagnostic in error.diagnostics { printError("error: \(diagnostic)") }
            printError("\(error.diagnostics.count) error\(error.diagnostics.count == 1 ? "" : "s") in \(config)")
            throw ExitCode.failure
        }
    }

    /// Loads the configuration again; its mistakes are the error (for a reload, which reports them itself).
    func reload() throws -> TraceTailConfig {
        try ConfigLoader.load(file: config, registry: try BuiltinPlugins.registry(), environment: environment())
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Runs the pipelines until their inputs end or a signal stops them.")

    @OptionGroup var options: ConfigOptions

    @Option(help: "Log format on stderr: text or json.")
    var logFormat: LogFormat = .text

    @Option(help: "Lowest log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    @Flag(help: "Read every matched file to its end, wait for delivery, write checkpoints and exit (backfill).")
    var once = false

    func run() async throws {
        let config = try options.load()
        StderrLogHandler.bootstrap(format: logFormat, level: logLevel)
        signal(SIGPIPE, SIG_IGN) // a closed stdout is an output error, not a crash
        // Request bodies of a few MB are built and freed all the time. By default glibc gives such memory back to
        // the kernel (munmap, heap trimming) and the next body faults it in again, zeroed: ~6 % of a busy run's
        // CPU. Kept in the heap instead (peak RSS up to 5 MB higher; idle RSS unchanged).
        mallopt(M_MMAP_THRESHOLD, 32 << 20)
        mallopt(M_TRIM_THRESHOLD, 64 << 20)
        let logger = Logger(label: "tracetail")
        logger.info("starting", metadata: ["version": "\(TraceTail.version)", "pipelines": "\(config.pipelines.count)"])
        let health = Health()
        let options = self.options
        let supervisor = PipelineSupervisor(config: config, logger: logger, once: once, health: health,
                                            load: { try options.reload() })
        var alongside: [any Service] = []
        if config.service.http.enabled && !once {
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            alongside.append(ServiceServer(settings: config.service.http, registry: registry, health: health,
                                           supervisor: supervisor, logger: logger))
        }
        // SIGHUP re-reads the configuration (so does POST /-/reload on the service server).
        signal(SIGHUP, SIG_IGN)
        let hangup = DispatchSource.makeSignalSource(signal: SIGHUP)
        hangup.setEventHandler { Task { _ = await supervisor.reload() } }
        hangup.resume()
        defer { hangup.cancel() }
        let outcome = await Runner.run(config, logger: logger, once: once, health: health, alongside: alongside,
                                       supervisor: supervisor)
        guard outcome.succeeded else {
            for failure in outcome.failures { logger.error("\(failure)") }
            throw ExitCode.failure
        }
    }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Checks a configuration and reports every mistake with its position.")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        for pipeline in config.pipelines {
            print("ok  \(pipeline.name)  \(pipeline.summary)  (\(pipeline.location))")
        }
    }
}

struct Plugins: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Lists every built-in plugin with its options.")

    @Option(help: "text, or markdown (the configuration reference in the README).")
    var format: ReferenceFormat = .text

    enum ReferenceFormat: String, ExpressibleByArgument {
        case text, markdown
    }

    func run() throws {
        let registry = try BuiltinPlugins.registry()
        print(format == .text ? registry.textReference : registry.markdownReference, terminator: "")
    }
}

extension LogFormat: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {}

func environment() -> [String: String] {
    var result: [String: String] = [:]
    var pointer = environ
    while let entry = pointer.pointee {
        let text = String(cString: entry)
        if let equals = text.firstIndex(of: "=") {
            result[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        pointer += 1
    }
    return result
}

func printError(_ text: String) {
    var line = Array(Redactor.shared.redact(text).utf8)
    line.append(UInt8(ascii: "\n"))
    try? FileSystem.writeAll(line, to: STDERR_FILENO, path: "stderr")
}
