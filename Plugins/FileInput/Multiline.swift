import TraceTailCore

/// Joins continuation lines (stack traces) to the line that started them.
///
/// With `start_pattern`, a line matching it starts a new record and any other line continues the current one; with
/// `continue_pattern`, a line matching it continues the current record and any other line starts a new one.
struct MultilineJoiner {
    struct Settings: Decodable, Sendable {
        var startPattern: CompiledPattern?
        var continuePattern: CompiledPattern?
        /// A record waiting for more lines is emitted after this long without one.
        var timeout = ConfigDuration.seconds(1)
        /// At most this many lines are joined into one record.
        var maxLines = 500

        enum CodingKeys: String, CodingKey {
            case startPattern = "start_pattern"
            case continuePattern = "continue_pattern"
            case timeout
            case maxLines = "max_lines"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            func pattern(_ key: CodingKeys) throws -> CompiledPattern? {
                guard let text = try container.decodeIfPresent(String.self, forKey: key) else { return nil }
                do {
                    return try CompiledPattern(text)
                } catch {
                    throw ConfigValueError("invalid pattern: \(error.message) (at offset \(error.offset))",
                                           codingPath: container.codingPath + [key], offset: error.offset)
                }
            }
            startPattern = try pattern(.startPattern)
            continuePattern = try pattern(.continuePattern)
            guard (startPattern == nil) != (continuePattern == nil) else {
                throw ConfigValueError("give exactly one of start_pattern and continue_pattern", codingPath: container.codingPath)
            }
            try container.decode(.timeout, into: &timeout)
            try container.decode(.maxLines, into: &maxLines)
        }

        func startsRecord(_ line: UnsafeRawBufferPointer) -> Bool {
            if let startPattern { return startPattern.match(line) { _, _ in } }
            return !(continuePattern?.match(line) { _, _ in } ?? false)
        }
    }

    let settings: Settings
    let maxBytes: Int
    private var pending: [UInt8] = []
    private var pendingOffsets: Range<UInt64>?
    private var pendingLines = 0
    private var pendingTruncated = false
    /// When the last line joined the pending record.
    private(set) var lastLineTime = ContinuousClock.now

    init(settings: Settings, maxBytes: Int) {
        self.settings = settings
        self.maxBytes = maxBytes
    }

    /// Where the pending record starts, if any: nothing from there on may be acknowledged yet.
    var pendingStart: UInt64? { pendingOffsets?.lowerBound }

    /// A record is pending and no line joined it for the timeout.
    func expired(at now: ContinuousClock.Instant) -> Bool {
        pendingOffsets != nil && now - lastLineTime >= settings.timeout.duration
    }

    /// Takes a line; calls `emit` with a finished record when the line starts a new one.
    mutating func add(
        _ line: UnsafeRawBufferPointer, _ offsets: Range<UInt64>, _ truncated: Bool, now: ContinuousClock.Instant,
        _ emit: LineSplitter.LineHandler
    ) {
        lastLineTime = now
        if pendingOffsets != nil && !settings.startsRecord(line) && pendingLines < settings.maxLines {
            let room = maxBytes - pending.count
            if room > 1 {
                pending.append(0x0A)
                pending.append(contentsOf: line.prefix(room - 1))
            }
            pendingTruncated = pendingTruncated || truncated || line.count > room - 1
            pendingOffsets = pendingOffsets!.lowerBound..<offsets.upperBound
            pendingLines += 1
            return
        }
        flush(emit)
        pending.append(contentsOf: line)
        pendingOffsets = offsets
        pendingLines = 1
        pendingTruncated = truncated
    }

    /// Emits the pending record.
    mutating func flush(_ emit: LineSplitter.LineHandler) {
        guard let offsets = pendingOffsets else { return }
        pending.withUnsafeBytes { emit($0, offsets, pendingTruncated) }
        pending.removeAll(keepingCapacity: true)
        pendingOffsets = nil
        pendingLines = 0
        pendingTruncated = false
    }

    /// Forgets the pending record (the file was truncated under it).
    mutating func reset() {
        pending.removeAll(keepingCapacity: true)
        pendingOffsets = nil
        pendingLines = 0
    }
}
