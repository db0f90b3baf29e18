#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization
import TraceTailCore

/// `run --once` progress: on a terminal, a bar per file (bytes read of its size, lines/s, time left) redrawn in
/// place on stderr; otherwise a log line per file every `interval`.
final class BackfillProgress: Sendable {
    struct FileState: Sendable, Equatable {
        var path: String
        var read: UInt64
        var size: UInt64
    }

    private let files = Mutex<[FileState]>([])
    private let lines: MetricCounter
    static let interval = Duration.seconds(2)

    init(lines: MetricCounter) {
        self.lines = lines
    }

    func update(_ path: String, read: UInt64, size: UInt64) {
        files.withLock { files in
            if let index = files.firstIndex(where: { $0.path == path }) {
                files[index].read = read
                files[index].size = max(size, read)
            } else {
                files.append(FileState(path: path, read: read, size: max(size, read)))
            }
        }
    }

    /// Reports until cancelled, then once more with the final figures.
    func report(logger: Logger, terminal: Bool) async {
        let started = ContinuousClock.now
        var drawn = 0
        let tick = terminal ? Duration.milliseconds(250) : Self.interval
        // A sleep cut short by cancellation ends the loop: the final report below is the only one after it.
        while (try? await Task.sleep(for: tick)) != nil {
            drawn = show(logger: logger, terminal: terminal, drawn: drawn, since: started)
        }
        _ = show(logger: logger, terminal: terminal, drawn: drawn, since: started)
    }

    private func show(logger: Logger, terminal: Bool, drawn: Int, since started: ContinuousClock.Instant) -> Int {
        let elapsed = max(Self.seconds(ContinuousClock.now - started), 0.001)
        let snapshot = files.withLock { $0 }
        let rate = Double(lines.value) / elapsed
        if terminal {
            var text = drawn > 0 ? "\u{1B}[\(drawn)A" : ""
            for file in snapshot { text += "\r\u{1B}[K" + Self.render(file, linesPerSecond: rate, elapsed: elapsed) + "\n" }
            try? FileSystem.writeAll(Array(text.utf8), to: STDERR_FILENO, path: "stderr")
            return snapshot.count
        }
        for file in snapshot {
            logger.info("backfill progress", metadata: [
                "file": "\(file.path)", "read_bytes": "\(file.read)", "size_bytes": "\(file.size)",
                "percent": "\(Self.percent(file))", "lines_per_second": "\(Int(rate))",
                "eta": "\(Self.eta(file, elapsed: elapsed))",
            ])
        }
        return 0
    }

    /// `app.log  [##########----------]  50%  146.0/292.0 MB  612345 lines/s  ETA 2s`
    static func render(_ file: FileState, linesPerSecond: Double, elapsed: Double) -> String {
        let width = 20
        let filled = file.size == 0 ? width : Int(Double(width) * Double(file.read) / Double(file.size))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let name = file.path.split(separator: "/").last.map(String.init) ?? file.path
        let megabytes = { (bytes: UInt64) in String(Double(bytes / 100_000) / 10) }
        return "\(name)  [\(bar)]  \(percent(file))%  \(megabytes(file.read))/\(megabytes(file.size)) MB  "
            + "\(Int(linesPerSecond)) lines/s  ETA \(eta(file, elapsed: elapsed))"
    }

    static func percent(_ file: FileState) -> Int {
        file.size == 0 ? 100 : Int(100 * file.read / file.size)
    }

    /// Time left at the rate so far.
    static func eta(_ file: FileState, elapsed: Double) -> String {
        guard file.read > 0, file.read < file.size else { return file.read >= file.size ? "0s" : "?" }
        let left = elapsed * Double(file.size - file.read) / Double(file.read)
        return left < 60 ? "\(Int(left.rounded(.up)))s" : "\(Int(left / 60))m\(Int(left) % 60)s"
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
