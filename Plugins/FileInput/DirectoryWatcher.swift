import TraceTailCore
#if canImport(Glibc)
import Glibc
#endif

/// Wakes the file input when something changes in the watched directories (inotify). Events only wake it: what
/// changed is found by looking, so a missed or merged event costs nothing but latency.
final class DirectoryWatcher {
    private let descriptor: Int32
    private var watched: [String: Int32] = [:]
    private let buffer = ChunkBuffer(size: 64 * 1024)

    /// nil where inotify is not available.
    init?() {
        let descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else { return nil }
        self.descriptor = descriptor
    }

    /// Watches these directories (and stops watching others).
    func watch(directories: Set<String>) {
        let mask = UInt32(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_MODIFY | IN_DELETE | IN_DELETE_SELF | IN_CLOSE_WRITE | IN_ATTRIB)
        for directory in directories where watched[directory] == nil {
            let handle = inotify_add_watch(descriptor, directory, mask)
            if handle >= 0 { watched[directory] = handle }
        }
        for (directory, handle) in watched where !directories.contains(directory) {
            inotify_rm_watch(descriptor, handle)
            watched[directory] = nil
        }
    }

    /// Waits until something changed or `timeout` passed; true when something changed.
    func wait(timeout: Duration) async throws -> Bool {
        let milliseconds = Int32(min(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000, 60_000))
        guard let count = try await buffer.read(descriptor, waitingUpTo: milliseconds, name: "inotify") else { return false }
        return count > 0
    }

    func close() {
        Glibc.close(descriptor)
    }
}
