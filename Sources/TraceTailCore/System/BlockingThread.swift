import NIOPosix

/// A thread of one's own for long blocking waits (inotify's, say): a wait of seconds there holds none of the few
/// threads of `BlockingIO`, which every input's reads and every checkpoint's fsync share — two idle file inputs
/// waiting there would stall a third one's reads.
public final class BlockingThread: Sendable {
    private let pool = NIOThreadPool(numberOfThreads: 1)

    public init() {
        pool.start()
    }

    /// Runs `body` on this thread.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }

    /// Ends the thread once what runs there returned.
    public func close() {
        pool.shutdownGracefully { _ in }
    }
}
