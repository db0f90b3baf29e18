#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization

/// Which kind of file in the data directory a write was for: the `file` label of
/// `tracetail_data_dir_write_errors_total`.
public enum DataFile: String, Sendable {
    /// A disk queue's segments (an output's `buffer: disk`, stdin's and the webhook's queue).
    case queue
    /// A disk queue's acknowledged position.
    case queuePosition = "queue_position"
    /// An input's checkpoints.
    case checkpoints
    /// Dead-letter files.
    case deadLetters = "dead_letters"
}

/// How one stage's writes into the data directory fare. A write that fails (a full disk — ENOSPC, EDQUOT — or
/// EIO) is an explicit, recoverable state: it is counted in `tracetail_data_dir_write_errors_total{file,error}`,
/// logged once per kind of file until a write of that kind succeeds again (with the path and the bytes it
/// needed), and makes `/readyz` not ready with the same reason; the next successful write clears it. Writers
/// retry with backoff (`retrying`) so that work resumes by itself once there is space again.
public final class DataWrites: Sendable {
    /// Backoff between retries of a failed write: doubles from the first to the last.
    public static let backoff: (first: Duration, last: Duration) = (.milliseconds(50), .seconds(2))

    let logger: Logger
    let metrics: MetricsScope
    let health: StageHealth
    /// The kinds of file whose last write failed.
    private let failing = Mutex<Set<DataFile>>([])
    /// `failing` is not empty (checked without the lock on every successful write).
    private let anyFailing = Atomic<Bool>(false)
    private let counters = Mutex<[String: MetricCounter]>([:])

    public init(logger: Logger, metrics: MetricsScope, health: StageHealth) {
        self.logger = logger
        self.metrics = metrics
        self.health = health
    }

    /// A write of `needed` bytes failed with `error` (its path is the file's).
    public func failed(_ error: SystemError, file: DataFile, needed: Int) {
        counter(file, error).increment()
        let first = failing.withLock { failing in
            defer { anyFailing.store(true, ordering: .releasing) }
            return failing.insert(file).inserted
        }
        guard first else { return }
        let reason = "cannot write \(error.path) (\(needed) bytes): \(error.reason)"
        logger.error("cannot write to the data directory; holding back and retrying until it can", metadata: [
            "path": "\(error.path)", "file": "\(file.rawValue)", "needed_bytes": "\(needed)", "error": "\(error.reason)",
        ])
        health.dataWriteFailing(file.rawValue, reason)
    }

    /// A write of this kind of file succeeded: a failure it reported before is over.
    public func succeeded(_ file: DataFile) {
        guard anyFailing.load(ordering: .acquiring) else { return }
        let recovered = failing.withLock { failing in
            defer { anyFailing.store(!failing.isEmpty, ordering: .releasing) }
            return failing.remove(file) != nil
        }
        guard recovered else { return }
        logger.notice("writing to the data directory works again", metadata: ["file": "\(file.rawValue)"])
        health.dataWriteRecovered(file.rawValue)
    }

    /// Runs `write` until it succeeds, reporting each failure and waiting `backoff` (doubling) before the next
    /// try. Throws only what is not a `SystemError` (cancellation among them).
    public func retrying<T>(_ file: DataFile, needed: Int, _ write: () async throws -> T) async throws -> T {
        var delay = Self.backoff.first
        while true {
            do {
                if let fault = Self.injectedFault() { throw fault }
                let result = try await write()
                succeeded(file)
                return result
            } catch let error as SystemError {
                failed(error, file: file, needed: needed)
            }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, Self.backoff.last)
        }
    }

    /// Runs a synchronous write once, reporting how it went.
    public func attempt<T>(_ file: DataFile, needed: Int, _ write: () throws(SystemError) -> T) throws(SystemError) -> T {
        do throws(SystemError) {
            if let fault = Self.injectedFault() { throw fault }
            let result = try write()
            succeeded(file)
            return result
        } catch {
            failed(error, file: file, needed: needed)
            throw error
        }
    }

    /// For tests that cannot mount a small filesystem (not root): with `TRACETAIL_TEST_FULL_DISK` set to a path,
    /// every write reported here fails with ENOSPC, before it is tried, while a file is at that path.
    private static let injectedFullDisk: String? = getenv("TRACETAIL_TEST_FULL_DISK").map { String(cString: $0) }

    private static func injectedFault() -> SystemError? {
        guard let flag = injectedFullDisk, access(flag, F_OK) == 0 else { return nil }
        return SystemError("cannot write", path: flag, code: ENOSPC)
    }

    private func counter(_ file: DataFile, _ error: SystemError) -> MetricCounter {
        let key = "\(file.rawValue) \(error.code)"
        return counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = metrics.counter("data_dir_write_errors_total", labels: [("file", file.rawValue), ("error", error.name)])
            counters[key] = counter
            return counter
        }
    }
}

extension SystemError {
    /// The error number's name for a metric label: ENOSPC, EDQUOT, EIO, or `errno_<n>` for the rest.
    public var name: String {
        switch code {
        case ENOSPC: "ENOSPC"
        case EDQUOT: "EDQUOT"
        case EIO: "EIO"
        default: "errno_\(code)"
        }
    }

    /// The system's text for the error number.
    public var reason: String { String(cString: strerror(code)) }
}
