import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// A reusable read buffer whose reads run on NIO's blocking-I/O thread pool, so that a blocking `read(2)` never
/// holds one of the few cooperative threads.
public final class ChunkBuffer: @unchecked Sendable {
    // @unchecked: one read at a time uses the storage, and the caller awaits it before looking at the bytes.
    private let storage: UnsafeMutableRawBufferPointer

    public init(size: Int) {
        storage = .allocate(byteCount: size, alignment: 16)
    }

    deinit { storage.deallocate() }

    public var capacity: Int { storage.count }

    /// The first `count` bytes of the last read.
    public func bytes(count: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: storage[0..<count]) }

    /// Reads at `offset` of a file (`pread`); returns how many bytes came (0 at its end).
    public func read(_ descriptor: Int32, at offset: UInt64, name: String) async throws -> Int {
        let buffer = self
        return try await BlockingIO.run {
            while true {
                let count = pread(descriptor, buffer.storage.baseAddress, buffer.storage.count, off_t(offset))
                if count >= 0 { return count }
                if errno != EINTR { throw SystemError("cannot read", path: name) }
            }
        }
    }

    /// Waits up to `timeout` milliseconds for a stream to have data and reads it; nil when none came in time. The
    /// wait holds a `BlockingIO` thread, or `thread` when given.
    public func read(_ descriptor: Int32, waitingUpTo timeout: Int32, name: String, on thread: BlockingThread? = nil) async throws -> Int? {
        let buffer = self
        let wait: @Sendable () throws -> Int? = {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            while true {
                let ready = poll(&poller, 1, timeout)
                if ready < 0 {
                    if errno == EINTR { continue }
                    throw SystemError("cannot poll", path: name)
                }
                if ready == 0 { return nil }
                let count = Glibc.read(descriptor, buffer.storage.baseAddress, buffer.storage.count)
                if count < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    throw SystemError("cannot read", path: name)
                }
                return count
            }
        }
        guard let thread else { return try await BlockingIO.run(wait) }
        return try await thread.run(wait)
    }
}

/// Reads a stream (a pipe, standard input) in large chunks, giving up waiting every `pollInterval` so that
/// cancellation is seen.
public final class DescriptorReader: Sendable {
    public enum Chunk: Sendable {
        /// Bytes were read; they are `bytes(count:)`.
        case data(count: Int)
        /// Nothing to read yet.
        case idle
        case endOfFile
    }

    public let descriptor: Int32
    public let name: String
    private let buffer: ChunkBuffer
    private let pollMilliseconds: Int32

    public init(descriptor: Int32, name: String, chunkSize: Int = 1 << 20, pollInterval: Duration = .milliseconds(200)) {
        self.descriptor = descriptor
        self.name = name
        buffer = ChunkBuffer(size: chunkSize)
        pollMilliseconds = Int32(pollInterval.components.seconds * 1000 + pollInterval.components.attoseconds / 1_000_000_000_000_000)
    }

    /// The bytes of the last `.data` chunk.
    public func bytes(count: Int) -> UnsafeRawBufferPointer { buffer.bytes(count: count) }

    /// Waits up to the poll interval for data and reads what is there.
    public func read() async throws -> Chunk {
        guard let count = try await buffer.read(descriptor, waitingUpTo: pollMilliseconds, name: name) else { return .idle }
        return count == 0 ? .endOfFile : .data(count: count)
    }
}

/// Runs blocking system calls (file and pipe I/O) on NIO's thread pool instead of a cooperative thread.
public enum BlockingIO {
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}
