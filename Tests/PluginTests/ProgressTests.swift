import Logging
import Synchronization
import Testing
import TraceTailCore
@testable import FileInput

/// How `run --once` shows a backfill's progress.
@Suite struct ProgressTests {
    @Test func aBarShowsBytesRateAndTimeLeft() {
        let half = BackfillProgress.FileState(path: "/var/log/app/app.log", read: 146_000_000, size: 292_000_000)
        #expect(BackfillProgress.render(half, linesPerSecond: 612_345.6, elapsed: 2)
            == "app.log  [##########----------]  50%  146.0/292.0 MB  612345 lines/s  ETA 2s")
        let slow = BackfillProgress.FileState(path: "big.log", read: 10, size: 1000)
        #expect(BackfillProgress.eta(slow, elapsed: 3) == "4m57s")
        let done = BackfillProgress.FileState(path: "a.log", read: 5, size: 5)
        #expect(BackfillProgress.percent(done) == 100 && BackfillProgress.eta(done, elapsed: 1) == "0s")
        let empty = BackfillProgress.FileState(path: "e.log", read: 0, size: 0)
        #expect(BackfillProgress.render(empty, linesPerSecond: 0, elapsed: 1).contains("[####################]  100%"))
        #expect(BackfillProgress.eta(BackfillProgress.FileState(path: "x", read: 0, size: 9), elapsed: 1) == "?")
    }

    @Test func theFinalFiguresAreLoggedOnceWhenReportingStops() async {
        let progress = BackfillProgress(lines: MetricCounter(label: "test_lines", dimensions: []))
        progress.update("/var/log/app.log", read: 10, size: 10)
        let messages = Messages()
        let logger = Logger(label: "test") { _ in messages }
        let reporter = Task { await progress.report(logger: logger, terminal: false) }
        try? await Task.sleep(for: .milliseconds(50))
        reporter.cancel()
        await reporter.value
        #expect(messages.lines == ["backfill progress"], "one report per file, after the sleep was cut short")
    }
}

/// A log handler that keeps the messages.
private struct Messages: LogHandler {
    private let box = Box()
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    var lines: [String] { box.lines.withLock { $0 } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        box.lines.withLock { $0.append("\(event.message)") }
    }

    private final class Box: Sendable {
        let lines = Mutex<[String]>([])
    }
}
