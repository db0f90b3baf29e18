import Foundation

/// How long a test waits for a condition before it fails: generous, because a condition that holds in a tenth of
/// a second alone can take many seconds while the whole suite runs in parallel on a busy machine (two cores, both
/// loaded). Tests wait on conditions, so a passing run is as fast as the machine allows.
public let patience = Duration.seconds(90)

/// What a finished process left behind.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// The built `tracetail` executable, next to the test bundle.
public func tracetailBinary() -> String {
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var directory = executable.deletingLastPathComponent()
    // The test runner lives inside `<build>/debug/TraceTailPackageTests.xctest` on Linux.
    while directory.path != "/" {
        let candidate = directory.appendingPathComponent("tracetail").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    fatalError("the tracetail executable was not built next to \(executable.path)")
}

/// A started process with pipes on all three standard streams.
public final class RunningProcess: @unchecked Sendable {
    // @unchecked: Process and Pipe are used from the test's task only; the output collectors lock.
    public let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let errors = Pipe()
    private let collected = NSLock()
    private var stdoutData = Data()
    private var stderrData = Data()

    /// - Parameter readOutput: false leaves standard output unread, so that a writer blocks once the pipe is full.
    public init(
        _ arguments: [String], environment: [String: String] = [:], directory: String? = nil, readOutput: Bool = true
    ) throws {
        process.executableURL = URL(fileURLWithPath: tracetailBinary())
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        if readOutput {
            output.fileHandleForReading.readabilityHandler = { [weak self] handle in
                let data = handle.availableData
                self?.collected.withLock { self?.stdoutData.append(data) }
            }
        }
        errors.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            self?.collected.withLock { self?.stderrData.append(data) }
        }
        try process.run()
    }

    /// A test that failed before waiting must not leave its process running.
    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    public func write(_ text: String) {
        input.fileHandleForWriting.write(Data(text.utf8))
    }

    public func closeInput() {
        try? input.fileHandleForWriting.close()
    }

    public func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }

    public var stdout: String { collected.withLock { String(decoding: stdoutData, as: UTF8.self) } }
    public var stderr: String { collected.withLock { String(decoding: stderrData, as: UTF8.self) } }

    /// Waits for the process to exit, killing it after `timeout`.
    public func wait(timeout: Duration = patience) async throws -> ProcessResult {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                kill(process.processIdentifier, SIGKILL)
                throw TimedOut(what: "tracetail \(process.arguments ?? [])")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        // Let the readers take what is left in the pipes.
        for handle in [output.fileHandleForReading, errors.fileHandleForReading] {
            handle.readabilityHandler = nil
        }
        let restOut = output.fileHandleForReading.readDataToEndOfFile()
        let restErr = errors.fileHandleForReading.readDataToEndOfFile()
        collected.withLock {
            stdoutData.append(restOut)
            stderrData.append(restErr)
        }
        return ProcessResult(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }

    /// Waits until `condition` holds for the collected output.
    public func waitFor(timeout: Duration = patience, _ condition: (RunningProcess) -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition(self) {
            if ContinuousClock.now > deadline || !process.isRunning { throw TimedOut(what: "output condition") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

public struct TimedOut: Error, CustomStringConvertible {
    public var what: String
    public init(what: String) { self.what = what }
    public var description: String { "timed out waiting for \(what)" }
}

/// Runs `tracetail` with the given arguments and standard input to completion.
public func runTracetail(
    _ arguments: [String], stdin: String = "", environment: [String: String] = [:], directory: String? = nil
) async throws -> ProcessResult {
    let running = try RunningProcess(arguments, environment: environment, directory: directory)
    running.write(stdin)
    running.closeInput()
    return try await running.wait()
}

/// Waits until `condition` holds, polling; fails after `timeout`.
public func eventually(timeout: Duration = patience, _ what: String = "condition", _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        if ContinuousClock.now > deadline { throw TimedOut(what: what) }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// Waits until an asynchronous `condition` holds (e.g. an HTTP reply), polling; fails after `timeout`.
public func eventuallyAsync(timeout: Duration = patience, _ what: String = "condition", _ condition: () async -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while await !condition() {
        if ContinuousClock.now > deadline { throw TimedOut(what: what) }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// The repository's top folder.
public func repositoryRoot(_ file: String = #filePath) -> String {
    var url = URL(fileURLWithPath: file)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
    }
    fatalError("no Package.swift above \(file)")
}

/// The README's generated section between `<!-- name:begin -->` and `<!-- name:end -->`, as it stands; with
/// `TRACETAIL_BLESS` set, first rewritten to `generated`.
public func readmeSection(_ name: String, generated: String) throws -> String {
    struct MissingSection: Error { let name: String }
    let path = repositoryRoot() + "/README.md"
    let readme = try String(contentsOfFile: path, encoding: .utf8)
    guard let begin = readme.range(of: "<!-- \(name):begin -->\n"), let end = readme.range(of: "<!-- \(name):end -->") else {
        throw MissingSection(name: name)
    }
    if ProcessInfo.processInfo.environment["TRACETAIL_BLESS"] != nil {
        try (readme[..<begin.upperBound] + generated + readme[end.lowerBound...]).write(toFile: path, atomically: true, encoding: .utf8)
        return generated
    }
    return String(readme[begin.upperBound..<end.lowerBound])
}
