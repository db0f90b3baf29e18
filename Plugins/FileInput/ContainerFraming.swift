#if canImport(Glibc)
import Glibc
#endif
import TraceTailCore

/// The file input's `format`: how a container runtime framed the lines of a file.
enum ContainerFormat: String, ConfigChoice {
    /// Plain lines: the app's own text.
    case lines
    /// The CRI log format (containerd, CRI-O): `<RFC 3339 time> <stdout|stderr> <P|F> <text>`.
    case cri
    /// Docker's json-file driver: `{"log": …, "stream": …, "time": …}`.
    case docker
    /// Decided per file from its first line.
    case auto
}

/// One record with the runtime's framing taken off: the app's text (borrowed for the call), its byte range in the
/// file (first piece's start to last piece's end), whether it was cut at `max_line_bytes`, the runtime's time
/// (nanoseconds since the epoch) and the stream it was written to — both nil for a line passed on raw.
struct FramedRecord {
    var text: UnsafeRawBufferPointer
    var offsets: Range<UInt64>
    var truncated: Bool
    var time: UInt64?
    var stream: ContainerFramer.Stream?
}

/// Takes a container runtime's framing off the lines of one file and joins the pieces of a long line.
///
/// Runtimes cut long lines into pieces (containerd and Docker at 16 KiB, CRI-O at 8 KiB): a CRI piece tagged `P`
/// is continued by the next piece of the same stream, up to one tagged `F`; a Docker `log` not ending in `\n` is
/// continued by the next object of the same stream. Pieces of stdout and stderr interleave, so each stream holds
/// its own pending pieces. A malformed framing line is counted and passed on raw.
struct ContainerFramer {
    enum Stream: Int {
        case stdout, stderr

        /// The `log.iostream` attribute value.
        var name: String { self == .stdout ? "stdout" : "stderr" }
    }

    enum Framing {
        case undecided, plain, cri, docker
    }

    /// Pieces of one stream waiting for their last piece.
    private struct Pending {
        var bytes: [UInt8] = []
        var offsets: Range<UInt64>?
        var time: UInt64 = 0
        var truncated = false
    }

    /// The framing in force (`auto` decides it from the first line).
    private(set) var framing: Framing
    /// The longest joined record, in bytes; longer ones are cut and marked truncated.
    let maxBytes: Int
    private var pending = [Pending(), Pending()]
    /// Lines whose framing could not be read, so far.
    private(set) var malformedLines = 0
    /// Joined records cut at `maxBytes`, so far.
    private(set) var truncatedRecords = 0

    /// nil for `format: lines` (nothing to take off).
    init?(format: ContainerFormat, maxBytes: Int) {
        switch format {
        case .lines: return nil
        case .cri: framing = .cri
        case .docker: framing = .docker
        case .auto: framing = .undecided
        }
        self.maxBytes = maxBytes
    }

    /// Where the earliest held piece starts, if any: nothing from there on may be acknowledged yet.
    var pendingStart: UInt64? {
        switch (pending[0].offsets?.lowerBound, pending[1].offsets?.lowerBound) {
        case let (first?, second?): min(first, second)
        case let (first, second): first ?? second
        }
    }

    /// Whether pieces wait for their last piece.
    var holdsPieces: Bool { pendingStart != nil }

    /// A record, when a line completes one.
    typealias Handler = (FramedRecord) -> Void

    /// Takes one line (without its newline) and its offsets; calls `emit` when it completes a record.
    mutating func add(_ line: UnsafeRawBufferPointer, _ offsets: Range<UInt64>, _ truncated: Bool, _ emit: Handler) {
        if framing == .undecided { framing = Self.decide(line) }
        let piece: Piece?
        switch framing {
        case .plain, .undecided: return emit(FramedRecord(text: line, offsets: offsets, truncated: truncated))
        case .cri: piece = CRIFraming.piece(line)
        case .docker: piece = DockerFraming.piece(line)
        }
        guard let piece else {
            malformedLines += 1
            return emit(FramedRecord(text: line, offsets: offsets, truncated: truncated))
        }
        piece.withText(line) { add(piece, text: $0, offsets, truncated, emit) }
    }

    private mutating func add(_ piece: Piece, text: UnsafeRawBufferPointer, _ offsets: Range<UInt64>, _ truncated: Bool,
                              _ emit: Handler) {
        let stream = piece.stream.rawValue
        if pending[stream].offsets == nil {
            guard piece.partial else {
                // A whole line: handed out without a copy.
                let cut = text.count > maxBytes
                if cut { truncatedRecords += 1 }
                let kept = cut ? UnsafeRawBufferPointer(rebasing: text.prefix(maxBytes)) : text
                guard !kept.isEmpty else { return }
                return emit(FramedRecord(text: kept, offsets: offsets, truncated: truncated || cut, time: piece.time,
                                         stream: piece.stream))
            }
            pending[stream].offsets = offsets
            pending[stream].time = piece.time
        }
        let room = maxBytes - pending[stream].bytes.count
        pending[stream].bytes.append(contentsOf: text.prefix(room))
        if text.count > room && !pending[stream].truncated { truncatedRecords += 1 }
        pending[stream].truncated = pending[stream].truncated || truncated || text.count > room
        pending[stream].offsets = pending[stream].offsets!.lowerBound..<offsets.upperBound
        if !piece.partial { flush(piece.stream, emit) }
    }

    /// Hands out the pieces of one stream as a record.
    private mutating func flush(_ stream: Stream, _ emit: Handler) {
        let index = stream.rawValue
        guard let offsets = pending[index].offsets else { return }
        if !pending[index].bytes.isEmpty {
            let (time, truncated) = (pending[index].time, pending[index].truncated)
            pending[index].bytes.withUnsafeBytes {
                emit(FramedRecord(text: $0, offsets: offsets, truncated: truncated, time: time, stream: stream))
            }
        }
        pending[index].bytes.removeAll(keepingCapacity: true)
        pending[index].offsets = nil
        pending[index].truncated = false
    }

    /// Hands out the held pieces as they are, earliest first (the end of a rotated file, a timeout, `--once`).
    mutating func flush(_ emit: Handler) {
        let streams: [Stream] = (pending[1].offsets?.lowerBound ?? .max) < (pending[0].offsets?.lowerBound ?? .max)
            ? [.stderr, .stdout] : [.stdout, .stderr]
        for stream in streams { flush(stream, emit) }
    }

    /// Forgets the held pieces (the file was truncated under them).
    mutating func reset() {
        pending = [Pending(), Pending()]
    }

    /// `auto`: Docker when the first line is a Docker object, CRI when it has CRI framing, plain lines otherwise.
    static func decide(_ line: UnsafeRawBufferPointer) -> Framing {
        if line.first == UInt8(ascii: "{") { return DockerFraming.piece(line) != nil ? .docker : .plain }
        return CRIFraming.piece(line) != nil ? .cri : .plain
    }
}

/// One framing line read: its stream, the runtime's time, whether more pieces follow, and where its text is.
struct Piece {
    var stream: ContainerFramer.Stream
    /// Nanoseconds since the epoch.
    var time: UInt64
    var partial: Bool
    var text: Text

    enum Text {
        /// A range of the line itself (CRI).
        case slice(Range<Int>)
        /// Text unescaped out of the line (Docker).
        case decoded([UInt8])
    }

    /// Calls `body` with the piece's text, borrowed.
    func withText(_ line: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        switch text {
        case .slice(let range): body(UnsafeRawBufferPointer(rebasing: line[range]))
        case .decoded(let bytes): bytes.withUnsafeBytes(body)
        }
    }
}

/// `2026-01-01T00:00:00.123456789Z stdout F text`, read on bytes.
enum CRIFraming {
    static func piece(_ line: UnsafeRawBufferPointer) -> Piece? {
        let space = UInt8(ascii: " ")
        guard let timeEnd = firstSpace(line, from: 0), timeEnd >= 20,
              let time = TimestampParser.nanoseconds(RawValue.text(UnsafeRawBufferPointer(rebasing: line[..<timeEnd]))) else { return nil }
        let streamStart = timeEnd + 1
        guard line.count >= streamStart + 8, line[streamStart + 6] == space,
              let stream = stream(UnsafeRawBufferPointer(rebasing: line[streamStart..<streamStart + 6])) else { return nil }
        // The tags: `P` or `F`, perhaps followed by `:`-separated others; the text follows a space (none when empty).
        let tagStart = streamStart + 7
        let tagEnd = firstSpace(line, from: tagStart) ?? line.count
        guard tagEnd > tagStart, line[tagStart] == UInt8(ascii: "P") || line[tagStart] == UInt8(ascii: "F"),
              tagEnd == tagStart + 1 || line[tagStart + 1] == UInt8(ascii: ":") else { return nil }
        return Piece(stream: stream, time: time, partial: line[tagStart] == UInt8(ascii: "P"),
                     text: .slice(min(tagEnd + 1, line.count)..<line.count))
    }

    /// `stdout` or `stderr` (six bytes).
    static func stream(_ name: UnsafeRawBufferPointer) -> ContainerFramer.Stream? {
        guard name.count == 6, name[0] == UInt8(ascii: "s"), name[1] == UInt8(ascii: "t"), name[2] == UInt8(ascii: "d") else {
            return nil
        }
        if name[3] == UInt8(ascii: "o"), name[4] == UInt8(ascii: "u"), name[5] == UInt8(ascii: "t") { return .stdout }
        if name[3] == UInt8(ascii: "e"), name[4] == UInt8(ascii: "r"), name[5] == UInt8(ascii: "r") { return .stderr }
        return nil
    }

    /// The index of the first space at or after `start` (memchr: the generic `firstIndex(of:)` took a tenth of
    /// the framing's cost, callgrind).
    private static func firstSpace(_ line: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard start < line.count, let base = line.baseAddress,
              let found = memchr(base + start, Int32(UInt8(ascii: " ")), line.count - start) else { return nil }
        return UnsafeRawPointer(found) - base
    }
}

/// `{"log":"text\n","stream":"stdout","time":"2026-01-01T00:00:00.123456789Z"}`: a `log` without its final `\n`
/// is continued by the next object of its stream.
enum DockerFraming {
    static func piece(_ line: UnsafeRawBufferPointer) -> Piece? {
        guard let object = try? JSONReader.parse(line), case .string(let log)? = object["log"],
              case .string(let streamName)? = object["stream"],
              let stream = Array(streamName.utf8).withUnsafeBytes({ $0.count == 6 ? CRIFraming.stream($0) : nil }),
              case .string(let timeText)? = object["time"],
              let time = Array(timeText.utf8).withUnsafeBytes({ TimestampParser.nanoseconds(RawValue.text($0)) }) else { return nil }
        var text = Array(log.utf8)
        let partial = text.last != UInt8(ascii: "\n")
        if !partial { text.removeLast() }
        return Piece(stream: stream, time: time, partial: partial, text: .decoded(text))
    }
}

extension RecordBatch {
    /// Appends a record taken out of its framing: the runtime's time is its observed time (`now` for a line passed
    /// on raw), its stream the attribute `log.iostream`.
    mutating func appendFramed(_ record: FramedRecord, source: String, identity: String, resource: Resource?, now: UInt64) {
        appendLine(record.text, source: source, identity: identity, offsets: record.offsets, truncated: record.truncated,
                   observedTime: record.time ?? now)
        records[records.count - 1].resource = resource
        if let stream = record.stream {
            // Sized for the parsers' attributes too: set first, one attribute would make an array they regrow.
            records[records.count - 1].attributes.reserveCapacity(Attributes.typicalCount)
            records[records.count - 1].attributes["log.iostream"] = .string(stream.name)
        }
    }
}
