import Testing
import TestSupport
@testable import TraceTailCore

@Suite struct BoundedQueueTests {
    @Test func deliversInOrderAndEndsAfterFinish() async throws {
        let queue = BoundedQueue<Int>(maxElements: 100, maxBytes: 1000)
        for value in 0..<10 { try await queue.push(value, weight: 1) }
        queue.finish()
        var seen: [Int] = []
        while let value = await queue.pop() { seen.append(value) }
        #expect(seen == Array(0..<10))
        await #expect(throws: BoundedQueue<Int>.Closed.self) { try await queue.push(1, weight: 1) }
    }

    @Test func aFullQueueSuspendsTheProducerUntilTheConsumerTakes() async throws {
        let queue = BoundedQueue<Int>(maxElements: 2, maxBytes: 1000)
        try await queue.push(1, weight: 1)
        try await queue.push(2, weight: 1)
        let producer = Task { try await queue.push(3, weight: 1) }
        try await Task.sleep(for: .milliseconds(30))
        #expect(queue.depth.elements == 2)
        #expect(await queue.pop() == 1)
        try await producer.value
        #expect(queue.depth.elements == 2)
        #expect(await queue.pop() == 2)
        #expect(await queue.pop() == 3)
    }

    @Test func bytesBoundTheQueueButAnOversizedElementStillPassesAlone() async throws {
        let queue = BoundedQueue<String>(maxElements: 100, maxBytes: 10)
        try await queue.push("big", weight: 50) // alone: admitted
        let blocked = Task { try await queue.push("next", weight: 1) }
        try await Task.sleep(for: .milliseconds(30))
        #expect(queue.depth == (1, 50))
        #expect(await queue.pop() == "big")
        try await blocked.value
        #expect(await queue.pop() == "next")
    }

    @Test func cancellingWaitingProducersAndConsumers() async throws {
        let queue = BoundedQueue<Int>(maxElements: 1, maxBytes: 10)
        try await queue.push(1, weight: 1)
        let producer = Task { try await queue.push(2, weight: 1) }
        try await Task.sleep(for: .milliseconds(20))
        producer.cancel()
        await #expect(throws: CancellationError.self) { try await producer.value }
        #expect(await queue.pop() == 1)
        let consumer = Task { await queue.pop() }
        try await Task.sleep(for: .milliseconds(20))
        consumer.cancel()
        #expect(await consumer.value == nil)
        #expect(queue.depth.elements == 0, "the cancelled push must not have added its element")
    }

    @Test func finishFailsWaitingProducers() async throws {
        let queue = BoundedQueue<Int>(maxElements: 1, maxBytes: 10)
        try await queue.push(1, weight: 1)
        let producer = Task { try await queue.push(2, weight: 1) }
        try await Task.sleep(for: .milliseconds(20))
        queue.finish()
        await #expect(throws: BoundedQueue<Int>.Closed.self) { try await producer.value }
        #expect(await queue.pop() == 1)
        #expect(await queue.pop() == nil)
    }

    @Test func manyProducersOneConsumerLoseNothing() async throws {
        let queue = BoundedQueue<Int>(maxElements: 3, maxBytes: 1000)
        let total = await withTaskGroup(of: Void.self, returning: Int.self) { group in
            for producer in 0..<8 {
                group.addTask {
                    for index in 0..<200 { try? await queue.push(producer * 1000 + index, weight: 1) }
                }
            }
            let consumer = Task {
                var seen = Set<Int>()
                while let value = await queue.pop() { seen.insert(value) }
                return seen.count
            }
            await group.waitForAll()
            queue.finish()
            return await consumer.value
        }
        #expect(total == 1600)
    }
}
