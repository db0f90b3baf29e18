import Logging
import TraceTailCore
#if canImport(Glibc)
import Glibc
#endif

/// Tails files matched by globs: follows them through rename and copy-truncate rotation, truncation, deletion
/// and re-creation, identifies them by a fingerprint of their first bytes (`FileIdentity`), and checkpoints only
/// what every output acknowledged, as it is acknowledged (`CheckpointBook`). `Tailer` is the reading loop,
/// `FollowedFile` one file being read.
public final class FileInput: Input {
    public enum StartAt: String, ConfigChoice {
        case beginning, end
    }

    public enum WatchMode: String, ConfigChoice {
        case auto, inotify, poll
    }

    public struct Configuration: Decodable, Sendable {
        public var include: [String]
        public var exclude: [String] = []
        public var startAt = StartAt.beginning
        public var watch = WatchMode.auto
        public var pollInterval = ConfigDuration.seconds(1)
        public var fingerprintBytes = 1024
        public var maxLineBytes = ByteSize.mebibytes(1)
        public var partialLineTimeout: ConfigDuration?
        var multiline: MultilineJoiner.Settings?
        var format = ContainerFormat.lines
        public var maxOpenFiles = 1024
        public var closeInactive = ConfigDuration(.seconds(300))
        public var rotateWait = ConfigDuration.seconds(5)
        public var checkpointInterval = ConfigDuration.seconds(1)
        public var pruneAfter = ConfigDuration(.seconds(7 * 86_400))
        public var readChunk = ByteSize.kibibytes(64)

        enum CodingKeys: String, CodingKey {
            case include, exclude, watch, multiline, encoding, format
            case startAt = "start_at"
            case pollInterval = "poll_interval"
            case fingerprintBytes = "fingerprint_bytes"
            case maxLineBytes = "max_line_bytes"
            case partialLineTimeout = "partial_line_timeout"
            case maxOpenFiles = "max_open_files"
            case closeInactive = "close_inactive"
            case rotateWait = "rotate_wait"
            case checkpointInterval = "checkpoint_interval"
            case pruneAfter = "prune_after"
            case readChunk = "read_chunk"
        }

        public init(include: [String]) {
            self.include = include
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            include = try container.decode([String].self, forKey: .include)
            guard !include.isEmpty else {
                throw ConfigValueError("give at least one glob", codingPath: container.codingPath + [CodingKeys.include])
            }
            try container.decode(.exclude, into: &exclude)
            try container.decode(.startAt, into: &startAt)
            try container.decode(.watch, into: &watch)
            try container.decode(.pollInterval, into: &pollInterval)
            try container.decode(.fingerprintBytes, into: &fingerprintBytes)
            try container.decode(.maxLineBytes, into: &maxLineBytes)
            partialLineTimeout = try container.decodeIfPresent(ConfigDuration.self, forKey: .partialLineTimeout)
            multiline = try container.decodeIfPresent(MultilineJoiner.Settings.self, forKey: .multiline)
            try container.decode(.format, into: &format)
            if multiline != nil && format != .lines {
                throw ConfigValueError("multiline is not supported with container framing (format: \(format.rawValue))",
                                       codingPath: container.codingPath + [CodingKeys.multiline])
            }
            try container.decode(.maxOpenFiles, into: &maxOpenFiles)
            try container.decode(.closeInactive, into: &closeInactive)
            try container.decode(.rotateWait, into: &rotateWait)
            try container.decode(.checkpointInterval, into: &checkpointInterval)
            try container.decode(.pruneAfter, into: &pruneAfter)
            try container.decode(.readChunk, into: &readChunk)
            if let encoding = try container.decodeIfPresent(String.self, forKey: .encoding), encoding.lowercased() != "utf-8" {
                throw ConfigValueError("only utf-8 is supported (invalid bytes are replaced)",
                                       codingPath: container.codingPath + [CodingKeys.encoding])
            }
            for (key, value, minimum) in [(CodingKeys.fingerprintBytes, fingerprintBytes, 16), (.maxOpenFiles, maxOpenFiles, 1),
                                          (.maxLineBytes, maxLineBytes.bytes, 1), (.readChunk, readChunk.bytes, 4096)]
            where value < minimum {
                throw ConfigValueError("must be at least \(minimum)", codingPath: container.codingPath + [key])
            }
            guard pollInterval.duration > .zero else {
                throw ConfigValueError("must be greater than zero", codingPath: container.codingPath + [CodingKeys.pollInterval])
            }
        }
    }

    public static let kind = "file"
    public static let summary = "Tails files matched by globs through rotation and truncation, with checkpoints after delivery."
    public static let options = [
        PluginOption("include", "list of globs", "Files to tail; `*`, `?`, `[…]` and `**` (any number of directories). Symbolic links are followed."),
        PluginOption("exclude", "list of globs", default: "[]", "Files to leave out (matched against the whole path and the file name)."),
        PluginOption("start_at", StartAt.choices, default: "beginning",
                     "Where to start in files that have no checkpoint and existed at startup; files that appear later are read from their start."),
        PluginOption("watch", WatchMode.choices, default: "auto", "Notice new files and data with inotify, or by polling."),
        PluginOption("poll_interval", "duration", default: "1s", "How often files are looked for and checked when polling (inotify: a safety rescan every 5×)."),
        PluginOption("fingerprint_bytes", "integer", default: "1024",
                     "A file is identified by a hash of this many first bytes (by device and inode until it is that long)."),
        PluginOption("max_line_bytes", "size", default: "1MiB", "Longer lines are cut there, marked tracetail.truncated, and the file keeps being followed."),
        PluginOption("partial_line_timeout", "duration", default: "none",
                     "Emit a last line that has had no newline for this long (by default it waits for its newline)."),
        PluginOption("multiline", "mapping", default: "none",
                     "Join stack traces: start_pattern (a matching line starts a record) or continue_pattern (a matching line continues one), timeout (1s), max_lines (500)."),
        PluginOption("format", ContainerFormat.choices, default: "lines",
                     "Container log framing to take off before parsers: cri (containerd, CRI-O), docker (json-file), auto (per file, from its first line); pieces of long lines are joined, the runtime's time becomes the observed time, the stream the attribute log.iostream, and the kubelet's path gives the k8s.* resource attributes."),
        PluginOption("max_open_files", "integer", default: "1024", "At most this many files are held open; the least recently active idle ones are closed first."),
        PluginOption("close_inactive", "duration", default: "5m", "A file with no new data for this long is closed (and reopened when it grows)."),
        PluginOption("rotate_wait", "duration", default: "5s", "A rotated-away or deleted file is let go this long after its last data, once read to its end."),
        PluginOption("checkpoint_interval", "duration", default: "1s",
                     "How often the acknowledgement journal (written as acknowledgements arrive) is folded into the checkpoint file."),
        PluginOption("prune_after", "duration", default: "7d", "Checkpoints of files gone for this long are forgotten."),
        PluginOption("read_chunk", "size", default: "64KiB", "How much is read at once; each read becomes one batch."),
        PluginOption("encoding", "utf-8", default: "utf-8", "Invalid bytes are replaced when text is made, never fatal."),
    ]

    let configuration: Configuration
    let context: PluginContext
    let book: CheckpointBook
    let metrics: Metrics
    /// With `run --once`: what has been read of each file, reported while it runs.
    let progress: BackfillProgress?

    struct Metrics {
        let filesWatched: MetricGauge
        let filesOpen: MetricGauge
        let bytesRead: MetricCounter
        let linesRead: MetricCounter
        let linesTruncated: MetricCounter
        let malformedFraming: MetricCounter
        let rotations: MetricCounter
        let truncations: MetricCounter
        let bytesLost: MetricCounter
        let checkpointLag: MetricGauge

        init(_ scope: MetricsScope) {
            filesWatched = scope.gauge("files_watched")
            filesOpen = scope.gauge("files_open")
            bytesRead = scope.counter("bytes_read_total")
            linesRead = scope.counter("lines_read_total")
            linesTruncated = scope.counter("lines_truncated_total")
            malformedFraming = scope.counter("malformed_framing_total")
            rotations = scope.counter("rotations_total")
            truncations = scope.counter("truncations_total")
            bytesLost = scope.counter("bytes_lost_total")
            checkpointLag = scope.gauge("checkpoint_lag_bytes")
        }
    }

    public init(configuration: Configuration, context: PluginContext) {
        self.configuration = configuration
        self.context = context
        book = CheckpointBook(path: context.dataDirectory + "/checkpoints-\(context.stageName).json",
                              pruneAfter: configuration.pruneAfter.duration, logger: context.logger,
                              writes: context.dataWrites)
        metrics = Metrics(context.metrics)
        progress = context.once ? BackfillProgress(lines: metrics.linesRead) : nil
    }

    public func run(emitter: BatchEmitter) async throws {
        var tailer = Tailer(input: self, emitter: emitter)
        defer { tailer.closeAll() }
        guard let progress else { return try await tailer.run() }
        let reporter = Task { [context] in await progress.report(logger: context.logger, terminal: isatty(STDERR_FILENO) == 1) }
        defer { reporter.cancel() }
        try await tailer.run()
    }

    /// Commits a delivered or dead-lettered batch; an abandoned one stays uncommitted, so it is read again after
    /// a restart.
    public func acknowledge(_ token: AckToken, status: BatchStatus) {
        if status.isSettled { book.acknowledge(token.sequence) }
    }

    /// Writes the final checkpoints once the pipeline has drained. Throws when they cannot be written (the
    /// journal then still holds every acknowledgement, unless the disk refused that too).
    public func finish() async throws {
        defer { book.close() }
        try book.save(force: true)
    }

    /// Folds the acknowledgement journal into the checkpoint file, on the blocking-I/O threads (its fsync must
    /// not hold one of the few cooperative threads). A failure is reported by the book's `DataWrites`; the journal
    /// still holds every acknowledgement, and the next save tries again.
    func saveCheckpointsInBackground() async {
        _ = try? await BlockingIO.run { [book] in try? book.save() }
    }
}
