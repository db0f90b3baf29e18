import DequeModule
import Synchronization

/// An async FIFO between two stages, bounded both in elements and in bytes; a full queue suspends its producers
/// (this is how backpressure travels back to the input). Any number of producers and consumers.
///
/// Hand-written because swift-async-algorithms' channels bound only the element count, not the bytes held.
/// An element heavier than the byte limit still passes when the queue is empty, so nothing can wedge.
public final class BoundedQueue<Element: Sendable>: Sendable {
    public struct Closed: Error {}

    private struct Producer {
        var id: UInt64
        /// Taken when admitted: moved into the queue, never copied.
        var element: Element?
        var weight: Int
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var items = Deque<(element: Element, weight: Int)>()
        var bytes = 0
        var finished = false
        var producers = Deque<Producer>()
        var consumers = Deque<(id: UInt64, continuation: CheckedContinuation<Element?, Never>)>()
        var nextID: UInt64 = 0
    }

    public let maxElements: Int
    public let maxBytes: Int
    private let state = Mutex(State())

    public init(maxElements: Int, maxBytes: Int) {
        precondition(maxElements > 0 && maxBytes > 0)
        self.maxElements = maxElements
        self.maxBytes = maxBytes
    }

    /// Elements and bytes waiting now.
    public var depth: (elements: Int, bytes: Int) {
        state.withLock { ($0.items.count, $0.bytes) }
    }

    private func fits(_ weight: Int, in state: State) -> Bool {
        state.items.isEmpty || (state.items.count < maxElements && state.bytes + weight <= maxBytes)
    }

    /// Adds an element, waiting while the queue is full. Throws `Closed` after `finish()`, and
    /// `CancellationError` when cancelled while waiting (the element was then not added). The element is consumed
    /// and moved into the queue, never copied: the consumer holds the only reference to what it shares (a batch's
    /// records), and changes it in place.
    public func push(_ element: consuming Element, weight: Int) async throws {
        var element: Element? = consume element
        let id: UInt64? = try state.withLock { state in
            guard !state.finished else { throw Closed() }
            if fits(weight, in: state) && state.producers.isEmpty {
                enqueue(element.take()!, weight: weight, into: &state)
                return nil
            }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                state.withLock { state in
                    if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                    } else if state.finished {
                        continuation.resume(throwing: Closed())
                    } else {
                        state.producers.append(Producer(id: id, element: element.take()!, weight: weight, continuation: continuation))
                        admitProducers(&state)
                    }
                }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> Producer? in
                guard let index = state.producers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.producers.remove(at: index)
            }
            cancelled?.continuation.resume(throwing: CancellationError())
        }
    }

    /// The next element, waiting while the queue is empty; nil once finished and drained, or when cancelled.
    public func pop() async -> Element? {
        if let ready = state.withLock({ take(&$0) }) { return ready }
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Element?, Never>) in
                state.withLock { state in
                    if let element = take(&state) {
                        continuation.resume(returning: element)
                    } else if state.finished || Task.isCancelled {
                        continuation.resume(returning: nil)
                    } else {
                        state.consumers.append((id, continuation))
                    }
                }
            }
        } onCancel: {
            state.withLock { state in
                state.consumers.firstIndex { $0.id == id }.map { state.consumers.remove(at: $0).continuation }
            }?.resume(returning: nil)
        }
    }

    /// No more elements will come: the consumer drains what is queued, then gets nil; waiting producers fail.
    public func finish() {
        let (consumers, producers) = state.withLock { state in
            state.finished = true
            let consumers = state.items.isEmpty ? Array(state.consumers) : []
            if state.items.isEmpty { state.consumers.removeAll() }
            let producers = state.producers
            state.producers.removeAll()
            return (consumers, producers)
        }
        for consumer in consumers { consumer.continuation.resume(returning: nil) }
        for producer in producers { producer.continuation.resume(throwing: Closed()) }
    }

    private func enqueue(_ element: consuming Element, weight: Int, into state: inout State) {
        if let consumer = state.consumers.popFirst() {
            consumer.continuation.resume(returning: consume element)
        } else {
            state.items.append((consume element, weight))
            state.bytes += weight
        }
    }

    private func take(_ state: inout State) -> Element? {
        guard let first = state.items.popFirst() else { return nil }
        state.bytes -= first.weight
        admitProducers(&state)
        return first.element
    }

    /// Moves waiting producers' elements in, in arrival order, while they fit.
    private func admitProducers(_ state: inout State) {
        while let weight = state.producers.first?.weight, fits(weight, in: state) {
            var producer = state.producers.removeFirst()
            enqueue(producer.element.take()!, weight: weight, into: &state)
            producer.continuation.resume()
        }
    }
}
