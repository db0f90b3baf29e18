#if canImport(Glibc)
import Glibc
#endif

/// Small state files (checkpoints) written so that a crash leaves either the old or the new content: the bytes go
/// to `<path>.tmp`, are fsynced, renamed over `<path>`, and the directory is fsynced.
public enum AtomicFile {
    /// Writes the file; on failure (e.g. a full disk) the old content stays and no temporary file is left.
    public static func write(_ bytes: [UInt8], to path: String) throws(SystemError) {
        let temporary = path + ".tmp"
        if let slash = path.lastIndex(of: "/") { try FileSystem.createDirectory(String(path[..<slash])) }
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw SystemError("cannot create", path: temporary) }
        defer { close(descriptor) }
        do throws(SystemError) {
            try FileSystem.writeAll(bytes, to: descriptor, path: temporary)
            guard fsync(descriptor) == 0 else { throw SystemError("cannot fsync", path: temporary) }
            guard rename(temporary, path) == 0 else { throw SystemError("cannot rename over", path: path) }
        } catch {
            unlink(temporary) // it would hold space on a disk that is full
            throw error
        }
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    /// Writes the file, reporting a failure (and the success after one) through `writes` as a write of `file`.
    public static func write(_ bytes: [UInt8], to path: String, reporting writes: DataWrites, as file: DataFile) throws(SystemError) {
        try writes.attempt(file, needed: bytes.count) { () throws(SystemError) in try write(bytes, to: path) }
    }

    /// What was found on disk.
    public enum Contents {
        case missing
        case found([UInt8])
        /// Only `<path>.tmp` was there (a crash between writing and renaming); it is offered for the caller to
        /// validate, and `adopt` makes it the real file.
        case leftover([UInt8])
    }

    public static func read(_ path: String) -> Contents {
        if let bytes = try? FileSystem.read(path) { return .found(bytes) }
        if let bytes = try? FileSystem.read(path + ".tmp") { return .leftover(bytes) }
        return .missing
    }

    /// Moves a damaged file aside (to `<path>.corrupt-<time>`) so that it can be inspected and is not read again.
    @discardableResult
    public static func quarantine(_ path: String) -> String {
        let target = "\(path).corrupt-\(Clock.nowNanoseconds / 1_000_000_000)"
        rename(path, target)
        unlink(path + ".tmp")
        return target
    }
}
