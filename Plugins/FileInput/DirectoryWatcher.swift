import TraceTailCore
#if canImport(Glibc)
import Glibc
#endif

/// What changed in the watched directories while the file input waited.
struct DirectoryChanges {
    /// Paths of files written to.
    var written: Set<String> = []
    /// A file was created, renamed, deleted or had its attributes changed: the globs are matched again.
    var structural = false
    /// The kernel dropped events (its queue overflowed): everything is looked at.
    var overflowed = false
}

/// Wakes the file input when something changes in the watched directories (inotify), and says what: which files
/// were written to, and whether files came, went or were renamed — so that a wake-up looks at the files that
/// changed, not at every file matched.
final class DirectoryWatcher {
    private let descriptor: Int32
    private var watched: [String: Int32] = [:]
    private var directories: [Int32: String] = [:]
    private let buffer = ChunkBuffer(size: 64 * 1024)
    /// Waits block here, not on the threads every input's reads share.
    private let thread = BlockingThread()

    /// nil where inotify is not available.
    init?() {
        let descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else { return nil }
        self.descriptor = descriptor
    }

    /// Watches these directories (and stops watching others).
    func watch(directories wanted: Set<String>) {
        let mask = UInt32(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_MODIFY | IN_DELETE | IN_DELETE_SELF | IN_CLOSE_WRITE | IN_ATTRIB)
        for directory in wanted where watched[directory] == nil {
            let handle = inotify_add_watch(descriptor, directory, mask)
            guard handle >= 0 else { continue }
            watched[directory] = handle
            directories[handle] = directory
        }
        for (directory, handle) in watched where !wanted.contains(directory) {
            inotify_rm_watch(descriptor, handle)
            watched[directory] = nil
            directories[handle] = nil
        }
    }

    /// Waits until something changed or `timeout` passed; nil when nothing changed in that time.
    func wait(timeout: Duration) async throws -> DirectoryChanges? {
        let milliseconds = Int32(min(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000, 60_000))
        guard let count = try await buffer.read(descriptor, waitingUpTo: milliseconds, name: "inotify", on: thread), count > 0 else {
            return nil
        }
        var changes = DirectoryChanges()
        collect(buffer.bytes(count: count), into: &changes)
        // Whatever else is queued already belongs to this wake-up.
        while let more = try await buffer.read(descriptor, waitingUpTo: 0, name: "inotify", on: thread), more > 0 {
            collect(buffer.bytes(count: more), into: &changes)
        }
        return changes
    }

    /// Reads `struct inotify_event` records: watch descriptor (Int32), mask, cookie, name length (UInt32 each),
    /// then the name, NUL-padded to that length.
    private func collect(_ events: UnsafeRawBufferPointer, into changes: inout DirectoryChanges) {
        let header = 16
        var offset = 0
        while offset + header <= events.count {
            let handle = events.loadUnaligned(fromByteOffset: offset, as: Int32.self)
            let mask = events.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
            let length = Int(events.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
            let name = UnsafeRawBufferPointer(rebasing: events[offset + header..<min(events.count, offset + header + length)])
            offset += header + length
            if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                changes.overflowed = true
                continue
            }
            if mask & UInt32(IN_MODIFY | IN_CLOSE_WRITE) != 0, let directory = directories[handle] {
                changes.written.insert(directory + "/" + String(decoding: name.prefix { $0 != 0 }, as: UTF8.self))
            }
            if mask & UInt32(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_ATTRIB | IN_IGNORED) != 0 {
                changes.structural = true
            }
        }
    }

    func close() {
        thread.close()
        Glibc.close(descriptor)
    }
}
