import Testing
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
}
