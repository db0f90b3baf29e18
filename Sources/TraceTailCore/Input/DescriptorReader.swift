import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Reads a file descriptor in large chunks on NIO's blocking-I/O thread pool, so that a blocking `read(2)` never
/// holds one of the few cooperative threads, and gives up waiting every `pollInterval` so that cancellation is seen.
public final class DescriptorReader: @unchecked Sendable {
    // @unchecked: the buffer is touched by one read at a time, which the caller awaits before reading it.

    public enum Chunk: Sendable {
        /// Bytes were read into `buffer[0..<count]`.
        case data(count: Int)
        /// Nothing to read yet.
        case idle
        case endOfFile
    }

    public let descriptor: Int32
    public let name: String
    private let storage: UnsafeMutableRawBufferPointer
    private let pollMilliseconds: Int32

    public init(descriptor: Int32, name: String, chunkSize: Int = 1 << 20, pollInterval: Duration = .milliseconds(200)) {
        self.descriptor = descriptor
        self.name = name
        storage = .allocate(byteCount: chunkSize, alignment: 16)
        pollMilliseconds = Int32(pollInterval.components.seconds * 1000 + pollInterval.components.attoseconds / 1_000_000_000_000_000)
    }

    deinit { storage.deallocate() }

    /// The bytes of the last `.data` chunk.
    public func bytes(count: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: storage[0..<count]) }

    /// Waits up to the poll interval for data and reads what is there.
    public func read() async throws -> Chunk {
        let descriptor = self.descriptor
        let name = self.name
        let timeout = pollMilliseconds
        let target = UnsafeMutableRawBufferPointerBox(storage)
        return try await BlockingIO.run {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            while true {
                let ready = poll(&poller, 1, timeout)
                if ready < 0 {
                    if errno == EINTR { continue }
                    throw SystemError("cannot poll", path: name)
                }
                if ready == 0 { return .idle }
                let count = Glibc.read(descriptor, target.pointer.baseAddress, target.pointer.count)
                if count < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    throw SystemError("cannot read", path: name)
                }
                return count == 0 ? .endOfFile : .data(count: count)
            }
        }
    }
}

/// Carries the reader's buffer into the thread-pool closure.
private struct UnsafeMutableRawBufferPointerBox: @unchecked Sendable {
    let pointer: UnsafeMutableRawBufferPointer
    init(_ pointer: UnsafeMutableRawBufferPointer) { self.pointer = pointer }
}

/// Runs blocking system calls (file and pipe I/O) on NIO's thread pool instead of a cooperative thread.
public enum BlockingIO {
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}
