#if canImport(Glibc)
import Glibc
#endif

/// Splits a byte stream into line records (`\n` or `\r\n`), carrying a partial last line over to the next chunk.
///
/// Each record's offsets cover its line and newline in the stream, so an input can acknowledge exactly what was
/// delivered. Blank lines are skipped. A line longer than `maxLineBytes` is cut there, marked with the attribute
/// `tracetail.truncated`, and the rest of it is skipped up to its newline.
public struct LineSplitter: Sendable {
    public private(set) var source: String
    public private(set) var identity: String
    public let maxLineBytes: Int
    /// Stream offset of the next byte `consume` will see.
    public private(set) var offset: UInt64
    /// The start of a line not yet ended by a newline.
    private var partial: [UInt8] = []
    private var partialStart: UInt64
    /// Lines cut at `maxLineBytes` so far.
    public private(set) var truncatedLines = 0
    private var discardingRest = false

    public init(source: String, identity: String = "", maxLineBytes: Int = 1 << 20, offset: UInt64 = 0) {
        self.source = source
        self.identity = identity
        self.maxLineBytes = maxLineBytes
        self.offset = offset
        self.partialStart = offset
    }

    /// The same splitter for a stream that was renamed or re-identified.
    public func renamed(_ source: String, identity: String? = nil) -> LineSplitter {
        var copy = self
        copy.source = source
        copy.identity = identity ?? self.identity
        return copy
    }

    /// Bytes held back waiting for their newline.
    public var pendingBytes: Int { partial.count }

    /// Every byte before this offset was handed out in a line or skipped; a held partial line starts here.
    public var settledOffset: UInt64 { partial.isEmpty && !discardingRest ? offset : partialStart }

    /// A line: its bytes (without newline or carriage return, borrowed for the call), its offsets in the stream
    /// including the newline, and whether it was cut at `maxLineBytes`.
    public typealias LineHandler = (UnsafeRawBufferPointer, Range<UInt64>, Bool) -> Void

    /// Appends every complete line in `chunk` to `batch`.
    public mutating func consume(_ chunk: UnsafeRawBufferPointer, into batch: inout RecordBatch, observedTime: UInt64) {
        let (source, identity) = (self.source, self.identity)
        consume(chunk) { line, offsets, truncated in
            batch.appendLine(line, source: source, identity: identity, offsets: offsets, truncated: truncated,
                             observedTime: observedTime)
        }
    }

    /// Emits the held partial line as a record (at the end of a stream, or when its flush timeout expired).
    public mutating func flushPartial(into batch: inout RecordBatch, observedTime: UInt64) {
        let (source, identity) = (self.source, self.identity)
        flushPartial { line, offsets, truncated in
            batch.appendLine(line, source: source, identity: identity, offsets: offsets, truncated: truncated,
                             observedTime: observedTime)
        }
    }

    /// Calls `emit` for every complete line in `chunk`.
    public mutating func consume(_ chunk: UnsafeRawBufferPointer, _ emit: LineHandler) {
        guard let base = chunk.baseAddress else { return }
        var position = 0
        while position < chunk.count {
            let remaining = chunk.count - position
            guard let found = memchr(base + position, 0x0A, remaining) else {
                hold(UnsafeRawBufferPointer(start: base + position, count: remaining))
                break
            }
            let newline = base.distance(to: UnsafeRawPointer(found))
            let piece = UnsafeRawBufferPointer(start: base + position, count: newline - position)
            let end = offset + UInt64(newline - position + 1)
            if partial.isEmpty && !discardingRest {
                deliver(piece, start: offset, end: end, emit)
            } else {
                hold(piece)
                let line = partial
                partial.removeAll(keepingCapacity: true)
                line.withUnsafeBytes { deliver($0, start: partialStart, end: end, emit) }
            }
            discardingRest = false
            offset = end
            partialStart = end
            position = newline + 1
        }
    }

    /// Hands out the held partial line (at the end of a stream, or when its flush timeout expired).
    public mutating func flushPartial(_ emit: LineHandler) {
        guard !partial.isEmpty else { return }
        let line = partial
        partial.removeAll(keepingCapacity: true)
        line.withUnsafeBytes { deliver($0, start: partialStart, end: offset, emit) }
        partialStart = offset
        discardingRest = false
    }

    /// Keeps bytes of an unfinished line, up to the line limit.
    private mutating func hold(_ bytes: UnsafeRawBufferPointer) {
        if partial.isEmpty && !discardingRest { partialStart = offset }
        offset += UInt64(bytes.count)
        guard !discardingRest else { return }
        let room = maxLineBytes - partial.count
        partial.append(contentsOf: bytes.prefix(room))
        if bytes.count > room {
            discardingRest = true
            truncatedLines += 1
        }
    }

    private mutating func deliver(_ line: UnsafeRawBufferPointer, start: UInt64, end: UInt64, _ emit: LineHandler) {
        var line = line
        var truncated = discardingRest
        if line.count > maxLineBytes {
            line = UnsafeRawBufferPointer(rebasing: line.prefix(maxLineBytes))
            truncated = true
            truncatedLines += 1
        }
        if line.last == 0x0D { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
        guard !line.isEmpty else { return }
        emit(line, start..<end, truncated)
    }
}

extension RecordBatch {
    /// Appends a line read from a stream as a record; a cut line is marked with `tracetail.truncated`.
    public mutating func appendLine(
        _ line: UnsafeRawBufferPointer, source: String, identity: String, offsets: Range<UInt64>, truncated: Bool,
        observedTime: UInt64
    ) {
        append(line, position: SourcePosition(source: source, identity: identity, offsets: offsets), observedTime: observedTime)
        if truncated { records[records.count - 1].attributes["tracetail.truncated"] = .bool(true) }
    }
}
