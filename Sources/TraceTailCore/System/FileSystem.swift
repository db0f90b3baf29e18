#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An operating-system call that failed, with the path it was about.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var code: Int32

    public init(_ operation: String, path: String, code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}

/// The few file operations the runtime needs, on plain POSIX calls.
public enum FileSystem {
    /// Creates a directory and its parents.
    public static func createDirectory(_ path: String) throws(SystemError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw SystemError("cannot create directory", path: current)
            }
        }
    }

    /// Appends bytes to a file, creating it (and its directory) if needed; when the write fails (a full disk),
    /// what it wrote of them is cut off again.
    public static func append(_ bytes: [UInt8], to path: String) throws(SystemError) {
        if let slash = path.lastIndex(of: "/") { try createDirectory(String(path[..<slash])) }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw SystemError("cannot open", path: path) }
        defer { close(descriptor) }
        let size = lseek(descriptor, 0, SEEK_END)
        do {
            try writeAll(bytes, to: descriptor, path: path)
        } catch {
            if size >= 0 { ftruncate(descriptor, size) }
            throw error
        }
    }

    /// Writes every byte to a descriptor, retrying short writes and interrupts.
    public static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw SystemError("cannot write", path: path)
            }
            offset += written
        }
    }

    /// Reads a whole file.
    public static func read(_ path: String) throws(SystemError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SystemError("cannot open", path: path) }
        defer { close(descriptor) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SystemError("cannot read", path: path)
            }
            if count == 0 { return result }
            result.append(contentsOf: chunk[..<count])
        }
    }
}

/// Wall-clock and monotonic time.
public enum Clock {
    /// Nanoseconds since the Unix epoch.
    public static var nowNanoseconds: UInt64 { nanoseconds(CLOCK_REALTIME) }

    /// Nanoseconds since an arbitrary start (boot), never going back: for measuring waits.
    public static var monotonicNanoseconds: UInt64 { nanoseconds(CLOCK_MONOTONIC) }

    private static func nanoseconds(_ clock: clockid_t) -> UInt64 {
        var spec = timespec()
        clock_gettime(clock, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}
