import Foundation
import Testing
@testable import TraceTailCore

@Suite struct FinalWriteTests {
    @Test func aFinalWriteRunsToItsEndWhenTheCallerIsCancelled() async throws {
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() } // as the grace period's deadline does
            try await FinalWrite.run(within: .seconds(10)) {
                _ = try await BlockingIO.run { usleep(20_000) } // would throw CancellationError in the cancelled task
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        try await task.value
    }

    @Test func aFinalWriteIsBoundedAndItsFailureComesBack() async {
        await #expect(throws: FinalWrite.TimedOut.self) {
            try await FinalWrite.run(within: .milliseconds(50)) { try await Task.sleep(for: .seconds(3600)) } // never ends
        }
        await #expect(throws: SystemError.self) {
            try await FinalWrite.run(within: .seconds(10)) { throw SystemError("cannot write", path: "/x", code: ENOSPC) }
        }
    }
}

@Suite struct DataWritesTests {
    @Test func aFailedWriteMakesTheProcessNotReadyUntilAWriteWorksAgain() {
        let health = Health()
        health.pipeline("p", .running)
        let context = PluginContext(pipeline: "p", stageName: "outputs[0]", kind: "otlp", logger: .init(label: "test"),
                                    dataDirectory: "/d", health: health.stage(pipeline: "p", stage: "outputs[0]"))
        context.dataWrites.failed(SystemError("cannot write", path: "/d/1.seg", code: ENOSPC), file: .queue, needed: 100)
        context.dataWrites.failed(SystemError("cannot write", path: "/d/1.seg", code: ENOSPC), file: .queue, needed: 100)
        let (ready, problems) = health.readiness(threshold: .seconds(60))
        #expect(!ready)
        #expect(problems == ["p/outputs[0]/queue: cannot write /d/1.seg (100 bytes): No space left on device"])
        context.dataWrites.succeeded(.checkpoints) // another kind of file: no change
        #expect(!health.readiness(threshold: .seconds(60)).ready)
        context.dataWrites.succeeded(.queue)
        #expect(health.readiness(threshold: .seconds(60)).ready)
    }

    @Test func retryingWaitsForTheWriteToWork() async throws {
        let context = PluginContext(pipeline: "p", stageName: "s", kind: "k", logger: .init(label: "test"), dataDirectory: "/d")
        let attempts = Attempts()
        let result = try await context.dataWrites.retrying(.deadLetters, needed: 1) {
            guard attempts.next() >= 3 else { throw SystemError("cannot write", path: "/d/x", code: ENOSPC) }
            return "written"
        }
        #expect(result == "written" && attempts.count == 3)
    }

    final class Attempts: @unchecked Sendable {
        // @unchecked: used from one task.
        var count = 0
        func next() -> Int {
            count += 1
            return count
        }
    }
}
