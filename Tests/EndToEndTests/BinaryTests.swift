import Foundation
import Testing
import TestSupport
import TraceTailCore

/// These start the built `tracetail` executable as a process.
@Suite(.serialized) struct BinaryTests {
    let root = repositoryRoot()

    func writeConfig(_ text: String) throws -> String {
        let path = temporaryDirectory() + "/config.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func theQuickStartShowsSpansFromTheSampleLog() async throws {
        let sample = try String(contentsOfFile: root + "/examples/logs/app.log", encoding: .utf8)
        let data = temporaryDirectory()
        let result = try await runTracetail(["run", "--once", "--config", "config.example.yaml"],
                                            environment: ["TRACETAIL_DATA_DIR": data], directory: root)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == sample.split(separator: "\n").count)
        #expect(lines.first?.contains("\"chat gpt-4o-mini\"") == true)
        #expect(lines.first?.contains("trace=4bf92f3577b34da6a3ce929d0e0e4736 span=a3ce929d0e0e4736") == true)
        #expect(result.stderr.contains("records_in=\(lines.count)"))
        #expect(result.stderr.contains("records_settled=\(lines.count)"))
        // The checkpoint remembers the file was read: a second run has nothing new to show.
        let again = try await runTracetail(["run", "--once", "--config", "config.example.yaml"],
                                           environment: ["TRACETAIL_DATA_DIR": data], directory: root)
        #expect(again.status == 0)
        #expect(again.stdout.isEmpty)
    }

    @Test func ndjsonOutputParsesAndKeepsEveryLineInOrder() async throws {
        let config = try writeConfig("""
            service: { data_dir: \(temporaryDirectory()) }
            pipelines:
              lines:
                input: { type: stdin }
                parsers: [ { type: json } ]
                outputs: [ { type: console, format: json } ]
            """)
        let count = 20_000
        let input = (0..<count).map { #"{"message":"line \#($0)","n":\#($0)}"# }.joined(separator: "\n") + "\n"
        let result = try await runTracetail(["run", "-c", config], stdin: input)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == count)
        let numbers = try lines.map { line -> Int64 in
            let span = try JSONReader.parse(Array(line.utf8))
            guard case .object(let attributes)? = span["attributes"], case .int(let n)? = attributes.first(where: { $0.key == "n" })?.value
            else { throw TimedOut(what: "attribute n in \(line)") }
            return n
        }
        #expect(numbers == (0..<Int64(count)).map { $0 })
    }

    @Test func sigtermDrainsAndExitsCleanly() async throws {
        let config = try writeConfig("""
            service: { data_dir: \(temporaryDirectory()), grace_period: 5s }
            pipelines:
              live:
                input: { type: stdin }
                outputs: [ { type: console } ]
            """)
        let process = try RunningProcess(["run", "-c", config])
        process.write("first line\nsecond line\n")
        try await process.waitFor { $0.stdout.contains("second line") }
        process.signal(SIGTERM)
        let result = try await process.wait()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("pipeline stopped"))
        #expect(result.stderr.contains("records_settled=2"))
    }

    @Test func aSecondSignalExitsAtOnceWhileTheDrainIsStuck() async throws {
        let config = try writeConfig("""
            service: { data_dir: \(temporaryDirectory()), grace_period: 60s }
            pipelines:
              stuck:
                input: { type: stdin }
                outputs: [ { type: console } ]
            """)
        // Nobody reads standard output, so the console output blocks once the pipe is full and the drain cannot end.
        let process = try RunningProcess(["run", "-c", config], readOutput: false)
        process.write(String(repeating: String(repeating: "x", count: 199) + "\n", count: 2000))
        try await Task.sleep(for: .milliseconds(500))
        process.signal(SIGTERM)
        try await Task.sleep(for: .milliseconds(500))
        #expect(process.process.isRunning, "the first signal only starts a graceful drain")
        let started = ContinuousClock.now
        process.signal(SIGTERM)
        let result = try await process.wait()
        #expect(result.status == 128 + SIGTERM)
        // Far below the 60 s grace period; generous, as a loaded machine took 5.7 s to schedule the exit.
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(result.stderr.contains("second signal: exiting without draining"))
    }

    @Test func aBackfillReportsItsProgress() async throws {
        let directory = temporaryDirectory()
        let logs = LogWriter(directory: directory + "/logs")
        logs.lines(0..<2000, to: "big.log")
        let config = try writeConfig("""
            service: { data_dir: \(directory)/data }
            pipelines:
              app:
                input: { type: file, include: ["\(logs.directory)/*.log"] }
                outputs: [ { type: discard } ]
            """)
        let result = try await runTracetail(["run", "--once", "--config", config])
        #expect(result.status == 0)
        // Not a terminal: log lines, the last one at 100 %.
        let line = try #require(result.stderr.split(separator: "\n").last { $0.contains("backfill progress") })
        #expect(line.contains("percent=100") && line.contains("big.log") && line.contains("eta=0s"), "\(line)")
    }

    @Test func jsonLogsOnStderr() async throws {
        let result = try await runTracetail(["run", "--once", "--config", "config.example.yaml", "--log-format", "json"],
                                            environment: ["TRACETAIL_DATA_DIR": temporaryDirectory()], directory: root)
        #expect(result.status == 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count >= 2)
        for line in lines {
            let entry = try JSONReader.parse(Array(line.utf8))
            #expect(entry["level"] != nil && entry["message"] != nil && entry["time"] != nil)
        }
        #expect(result.stderr.contains(#""message":"pipeline stopped""#))
    }

    @Test func validateReportsEveryMistakeWithItsPosition() async throws {
        let config = try writeConfig("""
            pipelines:
              app:
                input: { type: stdin, max_line_bytes: huge }
                parsers:
                  - type: jsn
                outputs:
                  - type: console
                    colour: blue
            """)
        let result = try await runTracetail(["validate", "--config", config])
        #expect(result.status == 1)
        #expect(result.stderr == """
            error: \(config):3:43: pipelines.app.input.max_line_bytes: expected a size such as 4096, 64KiB or 10MiB, found 'huge'
            error: \(config):5:15: pipelines.app.parsers[0].type: unknown parser type 'jsn' (known: json, kv)
            error: \(config):8:9: pipelines.app.outputs[0].colour: unknown key 'colour' (known: type, format, buffer)
            3 errors in \(config)

            """)
    }

    @Test func validateSummarisesAGoodConfigAndNeverPrintsSecrets() async throws {
        let good = try await runTracetail(["validate", "--config", "config.example.yaml"], directory: root)
        #expect(good.status == 0)
        #expect(good.stdout == "ok  llm-app  file → json → console  (config.example.yaml:9:3)\n")

        let secret = "lw_is_e2e-secret-value-31337"
        let config = try writeConfig("""
            pipelines:
              app:
                input: { type: stdin, max_line_bytes: "${INGEST_SECRET}" }
                outputs: [ { type: console, api_key: "${INGEST_SECRET}" } ]
            """)
        let bad = try await runTracetail(["validate", "--config", config], environment: ["INGEST_SECRET": secret])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("found '[REDACTED]'"))
        #expect(bad.stderr.contains("unknown key 'api_key'"))
        #expect(!bad.stderr.contains(secret) && !bad.stdout.contains(secret))
    }

    @Test func versionAndPlugins() async throws {
        let version = try await runTracetail(["--version"])
        #expect(version.stdout == "\(TraceTail.version)\n")
        let plugins = try await runTracetail(["plugins"])
        #expect(plugins.status == 0)
        for kind in ["stdin (input)", "file (input)", "json (parser)", "kv (parser)", "console (output)", "    on_error: keep | drop | dead_letter, default keep."] {
            #expect(plugins.stdout.contains(kind), "\(kind)")
        }
    }

    @Test func aMissingConfigFileIsAClearError() async throws {
        let result = try await runTracetail(["run", "--config", "/nonexistent/tracetail.yaml"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("error: /nonexistent/tracetail.yaml: cannot open /nonexistent/tracetail.yaml: No such file or directory"))
    }
}
