import TraceTailCore
#if canImport(Glibc)
import Glibc
#endif

/// One file being read: where it is, who it is, and how far its content was read.
///
/// The content's reading state (`stream`, `identity`, `readOffset`, the held partial line) can move to another
/// file: a copy-truncate copy takes it over from its original, which starts a new stream at offset 0.
final class FollowedFile {
    /// The `CheckpointBook` stream its content commits through.
    var stream: Int
    /// The path it was last seen under (as matched, so a symbolic link stays as matched; after a rename out of
    /// the glob, its new path).
    var path: String
    /// Where `path` leads, symbolic links resolved: writes are reported under this name.
    private(set) var realPath: String
    let device: UInt64
    let inode: UInt64
    var identity: FileIdentity
    /// The first bytes (up to `fingerprint_bytes`) as they were read: a file whose first bytes differ from these
    /// was rewritten.
    var prefix: [UInt8]
    var descriptor: Int32?
    /// Every byte before this was read.
    var readOffset: UInt64
    /// The size at the last look, in bytes.
    var size: UInt64 = 0
    var splitter: LineSplitter
    var joiner: MultilineJoiner?
    /// Takes CRI or Docker framing off (nil with `format: lines`).
    var framer: ContainerFramer?
    /// The pod and container its path names (with container framing), shared by its records.
    let resource: Resource?
    /// The path no longer leads to this file (renamed away or deleted): read it to its end, then let it go.
    var detached = false
    var lastActivity = ContinuousClock.now
    /// When a partial line was first held at the end of the file.
    var partialSince: ContinuousClock.Instant?
    /// Whether its content was identified and its stream opened (see `Tailer.claim`); an unclaimed file is not read.
    var claimed = false
    /// When discovery first saw it or, until it is claimed, last saw it grow as a copy of a file being read (a copy
    /// waits, unchanged, a little for its original's truncation).
    var unchangedSince = ContinuousClock.now
    /// Whether it existed when the input started (`start_at: end` applies to those).
    var seenAtStartup = false
    /// The bytes read and records made of them so far: a batch's record array is sized once from their ratio
    /// rather than grown (and copied) about eight times per 64 KiB read.
    private var appended = (bytes: 0, records: 0)

    init(stream: Int, path: String, device: UInt64, inode: UInt64, identity: FileIdentity, prefix: [UInt8], offset: UInt64,
         maxLineBytes: Int, multiline: MultilineJoiner.Settings?, format: ContainerFormat) {
        self.stream = stream
        self.path = path
        realPath = Self.resolve(path)
        self.device = device
        self.inode = inode
        self.identity = identity
        self.prefix = prefix
        readOffset = offset
        splitter = LineSplitter(source: path, identity: identity.key, maxLineBytes: maxLineBytes, offset: offset)
        joiner = multiline.map { MultilineJoiner(settings: $0, maxBytes: maxLineBytes) }
        framer = ContainerFramer(format: format, maxBytes: maxLineBytes)
        resource = framer == nil ? nil : PodMetadata.resource(path: path, realPath: realPath)
    }

    /// A file that takes over `original`'s content (its copy): same stream, identity, offsets and held lines. The
    /// identity moves to the copy's device and inode (the original's inode now holds new content under its own
    /// stream): the checkpoint leads to the copy after a crash, and a short file's key (`ino:`) is the copy's.
    init(copyOf original: FollowedFile, path: String, device: UInt64, inode: UInt64) {
        stream = original.stream
        self.path = path
        realPath = Self.resolve(path)
        self.device = device
        self.inode = inode
        identity = original.identity
        identity.device = device
        identity.inode = inode
        prefix = original.prefix
        readOffset = original.readOffset
        splitter = original.splitter.renamed(path, identity: identity.key)
        joiner = original.joiner
        framer = original.framer
        resource = original.resource
        partialSince = original.partialSince
        claimed = true
    }

    /// Every byte before this was emitted or skipped: the start of a held partial line, multiline record or
    /// container log piece.
    var settledOffset: UInt64 { min(splitter.settledOffset, joiner?.pendingStart ?? .max, framer?.pendingStart ?? .max) }

    /// Whether a partial line, or pieces of a container log line, wait for the rest.
    var holdsPartial: Bool { splitter.pendingBytes > 0 || framer?.holdsPieces == true }

    /// Lines (and joined container log lines) cut at `max_line_bytes` so far.
    var truncatedLines: Int { splitter.truncatedLines + (framer?.truncatedRecords ?? 0) }

    var atEnd: Bool { readOffset >= size }

    /// The file's size now, from its open descriptor.
    func currentSize() -> UInt64? {
        guard let descriptor else { return nil }
        var info = stat()
        return fstat(descriptor, &info) == 0 ? UInt64(info.st_size) : nil
    }

    /// Where the open descriptor leads now: the path after a rename, or nil when the file was deleted (or it is
    /// not open, or `/proc` is not mounted).
    func currentPath() -> String? {
        guard let descriptor else { return nil }
        var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/fd/\(descriptor)", &target, target.count - 1)
        guard count > 0 else { return nil }
        let path = String(decoding: target[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return path.hasSuffix(" (deleted)") ? nil : path
    }

    /// The first bytes are no longer what was read: the file was truncated and written again past the old offset.
    func rewritten(fingerprintBytes: Int) -> Bool {
        guard !prefix.isEmpty, let descriptor, let current = FileIdentity.readPrefix(descriptor, count: fingerprintBytes) else { return false }
        return !current.starts(with: prefix.prefix(min(prefix.count, current.count)))
            || current.count < min(prefix.count, Int(readOffset))
    }

    /// Starts the file again as new content at offset 0, on `stream` (it was truncated).
    func restart(stream: Int, fingerprintBytes: Int) {
        self.stream = stream
        readOffset = 0
        size = 0
        partialSince = nil
        joiner?.reset()
        framer?.reset()
        prefix = [] // taken as it is read again
        identity = FileIdentity(prefix: prefix, device: device, inode: inode, fingerprintBytes: fingerprintBytes)
        splitter = LineSplitter(source: path, identity: identity.key, maxLineBytes: splitter.maxLineBytes)
    }

    /// Takes a new identity (the file grew past the fingerprint length); records carry it from here on.
    func identify(as identity: FileIdentity, prefix: [UInt8]) {
        self.identity = identity
        self.prefix = prefix
        splitter = splitter.renamed(path, identity: identity.key)
    }

    /// Starts reading at `offset` (from a checkpoint, or the end with `start_at: end`).
    func seek(to offset: UInt64) {
        readOffset = offset
        splitter = LineSplitter(source: path, identity: identity.key, maxLineBytes: splitter.maxLineBytes, offset: offset)
    }

    /// Follows the file under a new path.
    func rename(to path: String) {
        self.path = path
        realPath = Self.resolve(path)
        splitter = splitter.renamed(path)
    }

    /// The path with symbolic links resolved (the path itself when that fails).
    private static func resolve(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Cuts the bytes read into lines (taken out of their container framing, or joined into multiline records,
    /// when configured) and appends them to `batch`.
    func append(_ chunk: UnsafeRawBufferPointer, to batch: inout RecordBatch) {
        let bytesPerRecord = appended.records == 0 ? 128 : max(1, appended.bytes / appended.records)
        let recordsBefore = batch.records.count
        batch.records.reserveCapacity(recordsBefore + chunk.count / bytesPerRecord + 1)
        defer { appended = (appended.bytes + chunk.count, appended.records + batch.records.count - recordsBefore) }
        let now = Clock.nowNanoseconds
        let instant = ContinuousClock.now
        let (path, id, resource) = (path, identity.key, resource)
        if var framer {
            splitter.consume(chunk) { line, offsets, truncated in
                framer.add(line, offsets, truncated) { batch.appendFramed($0, source: path, identity: id, resource: resource, now: now) }
            }
            self.framer = framer
        } else if var joiner {
            splitter.consume(chunk) { line, offsets, truncated in
                joiner.add(line, offsets, truncated, now: instant) { record, offsets, truncated in
                    batch.appendLine(record, source: path, identity: id, offsets: offsets, truncated: truncated, observedTime: now)
                }
            }
            self.joiner = joiner
        } else {
            splitter.consume(chunk) { line, offsets, truncated in
                batch.appendLine(line, source: path, identity: id, offsets: offsets, truncated: truncated, observedTime: now)
            }
        }
    }

    /// The held partial line, multiline record and container log pieces as a batch (end of a rotated file, a
    /// timeout, `--once`).
    func takeHeld(ack: AckToken) -> RecordBatch {
        var batch = RecordBatch(ack: ack)
        let now = Clock.nowNanoseconds
        let (path, id, resource) = (path, identity.key, resource)
        let add: LineSplitter.LineHandler = { line, offsets, truncated in
            batch.appendLine(line, source: path, identity: id, offsets: offsets, truncated: truncated, observedTime: now)
        }
        if var framer {
            let addFramed: ContainerFramer.Handler = {
                batch.appendFramed($0, source: path, identity: id, resource: resource, now: now)
            }
            splitter.flushPartial { line, offsets, truncated in framer.add(line, offsets, truncated, addFramed) }
            framer.flush(addFramed)
            self.framer = framer
        } else if var joiner {
            splitter.flushPartial { line, offsets, truncated in joiner.add(line, offsets, truncated, now: .now, add) }
            joiner.flush(add)
            self.joiner = joiner
        } else {
            splitter.flushPartial(add)
        }
        partialSince = nil
        return batch
    }

    func closeDescriptor() {
        if let descriptor { close(descriptor) }
        descriptor = nil
    }
}
