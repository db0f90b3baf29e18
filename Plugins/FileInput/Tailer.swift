import Logging
import TraceTailCore
#if canImport(Glibc)
import Glibc
#endif

/// One file being read.
final class TrackedFile {
    let key: Int
    /// The path it was last matched under (a symbolic link stays as matched).
    var path: String
    let device: UInt64
    let inode: UInt64
    var id: String
    var descriptor: Int32?
    /// Every byte before this was read.
    var readOffset: UInt64
    var size: UInt64 = 0
    var splitter: LineSplitter
    var joiner: MultilineJoiner?
    /// The first bytes (up to the fingerprint length) as last read.
    var prefix: [UInt8]
    /// Bumped on truncation, so that acknowledgements of the old content are ignored.
    var generation = 0
    /// The path no longer leads to this file (renamed away or deleted): read it to its end, then let it go.
    var detached = false
    var lastActivity: ContinuousClock.Instant
    /// When a partial line was first held at the end of the file.
    var partialSince: ContinuousClock.Instant?

    init(key: Int, path: String, device: UInt64, inode: UInt64, id: String, offset: UInt64, prefix: [UInt8],
         maxLineBytes: Int, multiline: MultilineJoiner.Settings?) {
        self.key = key
        self.path = path
        self.device = device
        self.inode = inode
        self.id = id
        readOffset = offset
        self.prefix = prefix
        splitter = LineSplitter(source: path, identity: id, maxLineBytes: maxLineBytes, offset: offset)
        joiner = multiline.map { MultilineJoiner(settings: $0, maxBytes: maxLineBytes) }
        lastActivity = .now
    }

    /// Every byte before this was emitted or skipped: the start of a held partial line or multiline record.
    var settledOffset: UInt64 { min(splitter.settledOffset, joiner?.pendingStart ?? .max) }
}

/// The reading loop of a file input: discovery, identity, reading, rotation and truncation handling.
struct Tailer {
    let input: FileInput
    let emitter: BatchEmitter
    var configuration: FileInput.Configuration { input.configuration }
    var logger: Logger { input.context.logger }
    var files: [Int: TrackedFile] = [:]
    var nextKey = 0
    var nextSequence: UInt64 = 0
    /// Files that share their first bytes with a file being read, first seen when: a copy (copy-truncate) is
    /// told from a distinct file by waiting to see whether the original gets truncated.
    var lookalikes: [String: ContinuousClock.Instant] = [:]
    var watcher: DirectoryWatcher?
    let buffer: ChunkBuffer
    var lastCheckpoint = ContinuousClock.now

    init(input: FileInput, emitter: BatchEmitter) {
        self.input = input
        self.emitter = emitter
        buffer = ChunkBuffer(size: input.configuration.readChunk.bytes)
        switch input.configuration.watch {
        case .poll: watcher = nil
        case .inotify, .auto:
            watcher = DirectoryWatcher()
            if watcher == nil && input.configuration.watch == .inotify {
                input.context.logger.warning("inotify is not available; polling instead")
            }
        }
    }

    mutating func run() async throws {
        discover(startup: true)
        var lastDiscovery = ContinuousClock.now
        while true {
            try Task.checkCancellation()
            let progressed = try await readAll()
            try await expireAndLetGo()
            if ContinuousClock.now - lastCheckpoint >= configuration.checkpointInterval.duration {
                await input.book.save()
                lastCheckpoint = .now
                input.metrics.checkpointLag.set(input.book.lag(readOffsets: files.mapValues(\.readOffset)))
            }
            if input.context.once && !progressed {
                try await finishOnce()
                return
            }
            if !progressed {
                try await waitForChange()
            }
            // Look for new, renamed and deleted files after every wait, and at least every poll interval while
            // busy files keep the reader from waiting.
            if !progressed || ContinuousClock.now - lastDiscovery >= configuration.pollInterval.duration {
                discover(startup: false)
                lastDiscovery = .now
            }
        }
    }

    /// `--once`: everything is read; hand out held lines, wait until every batch was delivered, save.
    private mutating func finishOnce() async throws {
        for file in files.values.sorted(by: { $0.key < $1.key }) {
            try await emitHeld(file)
        }
        while input.ledger.outstanding > 0 {
            try await Task.sleep(for: .milliseconds(10))
        }
        for key in files.keys { input.book.release(key) }
        await input.book.save(force: true)
    }

    private mutating func waitForChange() async throws {
        let interval = configuration.pollInterval.duration
        if let watcher {
            _ = try await watcher.wait(timeout: interval * 5)
        } else {
            try await Task.sleep(for: interval)
        }
    }

    // MARK: Discovery

    /// Finds the matched files, recognises the ones already being read, and starts the new ones.
    mutating func discover(startup: Bool) {
        var matched: [(path: String, info: stat)] = []
        var seenInodes = Set<String>()
        for pattern in configuration.include {
            for path in Glob(pattern: pattern).files()
            where !configuration.exclude.contains(where: { Glob.excludes($0, path) }) {
                var info = stat()
                guard stat(path, &info) == 0, seenInodes.insert("\(info.st_dev):\(info.st_ino)").inserted else { continue }
                matched.append((path, info))
            }
        }
        let byInode = Dictionary(files.values.map { ("\($0.device):\($0.inode)", $0) }, uniquingKeysWith: { first, _ in first })
        for (path, info) in matched {
            if let file = byInode["\(info.st_dev):\(info.st_ino)"] {
                if file.path != path {
                    logger.info("file renamed", metadata: ["from": "\(file.path)", "to": "\(path)"])
                    input.metrics.rotations.increment()
                    file.path = path
                    file.splitter = file.splitter.renamed(path)
                    track(file)
                }
                file.detached = false
                continue
            }
            start(path: path, info: info, startup: startup)
        }
        for file in files.values where !file.detached && !seenInodes.contains("\(file.device):\(file.inode)") {
            file.detached = true
            input.metrics.rotations.increment()
            logger.info("file rotated away or deleted; reading it to its end", metadata: ["path": "\(file.path)"])
        }
        watcher?.watch(directories: Set(matched.map { directory(of: $0.path) } + configuration.include.map(Self.staticDirectory)))
        input.metrics.filesWatched.set(files.count)
    }

    /// The directory part of a glob before its first wildcard.
    static func staticDirectory(_ pattern: String) -> String {
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: false)
        let fixed = segments.prefix { !$0.contains { "*?[".contains($0) } }.dropLast(segments.allSatisfy { !$0.contains { "*?[".contains($0) } } ? 1 : 0)
        let joined = fixed.joined(separator: "/")
        return joined.isEmpty ? (pattern.hasPrefix("/") ? "/" : ".") : joined
    }

    private func directory(of path: String) -> String {
        path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
    }

    private mutating func start(path: String, info: stat, startup: Bool) {
        guard let prefix = readPrefix(path: path) else { return }
        let size = UInt64(info.st_size)
        var id = identity(prefix: prefix, device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
        if id.hasPrefix("fp:"), let original = files.values.first(where: { $0.id == id }) {
            // Same first bytes as a file being read: a copy of it (copy-truncate), or a distinct file.
            if currentSize(of: original).map({ $0 < original.readOffset }) ?? true {
                truncate(original) // the original was truncated: this is its copy, found by its checkpoint below
            } else if let firstSeen = lookalikes[path], ContinuousClock.now - firstSeen >= lookalikeWait {
                id += "@\(info.st_dev):\(info.st_ino)"
                lookalikes[path] = nil
            } else {
                if lookalikes[path] == nil { lookalikes[path] = .now }
                return
            }
        }
        var offset: UInt64 = 0
        if let checkpoint = input.book.checkpoint(id), confirms(checkpoint, prefix: prefix) {
            offset = checkpoint.offset <= size ? checkpoint.offset : 0
        } else if startup && configuration.startAt == .end {
            offset = size
        }
        let file = TrackedFile(key: nextKey, path: path, device: UInt64(info.st_dev), inode: UInt64(info.st_ino), id: id,
                               offset: offset, prefix: prefix, maxLineBytes: configuration.maxLineBytes.bytes,
                               multiline: configuration.multiline)
        nextKey += 1
        file.size = size
        files[file.key] = file
        input.ledger.start(file: file.key, generation: 0, committed: offset)
        track(file)
        logger.info("following file", metadata: ["path": "\(path)", "offset": "\(offset)", "id": "\(id)"])
    }

    /// How long a file that looks like a copy is held back to see whether its original gets truncated.
    private var lookalikeWait: Duration { max(configuration.pollInterval.duration * 2, .seconds(1)) }

    private func identity(prefix: [UInt8], device: UInt64, inode: UInt64) -> String {
        prefix.count >= configuration.fingerprintBytes
            ? "fp:" + String(StableHash.hash(prefix, seed: 0), radix: 16)
            : "ino:\(device):\(inode)"
    }

    /// An `ino:` checkpoint belongs to this file only when the first bytes it saw are still the same.
    private func confirms(_ checkpoint: Checkpoint, prefix: [UInt8]) -> Bool {
        guard checkpoint.id.hasPrefix("ino:") else { return true }
        guard prefix.count >= checkpoint.prefixLength else { return false }
        return StableHash.hash(prefix.prefix(checkpoint.prefixLength), seed: 0) == checkpoint.prefixHash
    }

    private func track(_ file: TrackedFile) {
        input.book.track(file.key, CheckpointBook.Live(
            id: file.id, path: file.path, prefixLength: file.prefix.count, prefixHash: StableHash.hash(file.prefix, seed: 0)))
    }

    private func readPrefix(path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        return readPrefix(descriptor)
    }

    private func readPrefix(_ descriptor: Int32) -> [UInt8]? {
        var prefix = [UInt8](repeating: 0, count: configuration.fingerprintBytes)
        let count = prefix.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { return nil }
        prefix.removeLast(prefix.count - count)
        return prefix
    }

    // MARK: Reading

    /// Reads what is new in every file; true when anything was read.
    private mutating func readAll() async throws -> Bool {
        var progressed = false
        for file in files.values.sorted(by: { $0.key < $1.key }) {
            try Task.checkCancellation()
            progressed = try await read(file) || progressed
        }
        input.metrics.filesOpen.set(files.values.filter { $0.descriptor != nil }.count)
        return progressed
    }

    /// Reads up to a few chunks of one file; true when anything was read.
    private mutating func read(_ file: TrackedFile) async throws -> Bool {
        guard let descriptor = openIfGrown(file) else { return false }
        guard let size = currentSize(of: file) else { return false }
        if size < file.readOffset || (size > file.readOffset && rewritten(file, descriptor)) {
            truncate(file)
        }
        file.size = size
        var progressed = false
        for _ in 0..<4 where file.readOffset < file.size {
            let count = try await buffer.read(descriptor, at: file.readOffset, name: file.path)
            guard count > 0 else { break }
            progressed = true
            file.lastActivity = .now
            file.readOffset += UInt64(count)
            input.metrics.bytesRead.increment(by: count)
            input.progress?.update(file.path, read: file.readOffset, size: file.size)
            if file.readOffset >= UInt64(configuration.fingerprintBytes) && file.prefix.count < configuration.fingerprintBytes {
                refreshIdentity(file, descriptor)
            }
            var batch = RecordBatch(ack: AckToken(nextSequence))
            let truncatedBefore = file.splitter.truncatedLines
            append(buffer.bytes(count: count), of: file, to: &batch)
            input.metrics.linesTruncated.increment(by: file.splitter.truncatedLines - truncatedBefore)
            try await emit(batch, of: file)
        }
        if file.splitter.pendingBytes > 0 {
            file.partialSince = file.partialSince ?? .now
        } else {
            file.partialSince = nil
        }
        return progressed
    }

    private func append(_ chunk: UnsafeRawBufferPointer, of file: TrackedFile, to batch: inout RecordBatch) {
        let now = Clock.nowNanoseconds
        let instant = ContinuousClock.now
        let (path, id) = (file.path, file.id)
        if var joiner = file.joiner {
            file.splitter.consume(chunk) { line, offsets, truncated in
                joiner.add(line, offsets, truncated, now: instant) { record, offsets, truncated in
                    batch.appendLine(record, source: path, identity: id, offsets: offsets, truncated: truncated, observedTime: now)
                }
            }
            file.joiner = joiner
        } else {
            file.splitter.consume(chunk) { line, offsets, truncated in
                batch.appendLine(line, source: path, identity: id, offsets: offsets, truncated: truncated, observedTime: now)
            }
        }
    }

    /// Emits a batch of one file, registering it with the ledger first (an acknowledgement may come at once).
    private mutating func emit(_ batch: RecordBatch, of file: TrackedFile) async throws {
        let end = file.settledOffset
        input.metrics.linesRead.increment(by: batch.records.count)
        guard !batch.records.isEmpty else {
            input.ledger.settle(file: file.key, generation: file.generation, end: end)
            return
        }
        input.ledger.register(file: file.key, generation: file.generation, sequence: batch.ack.sequence, end: end)
        nextSequence += 1
        try await emitter.emit(batch)
    }

    /// Hands out a held partial line and multiline record (end of a rotated file, a timeout, or `--once`).
    private mutating func emitHeld(_ file: TrackedFile) async throws {
        var batch = RecordBatch(ack: AckToken(nextSequence))
        let now = Clock.nowNanoseconds
        let (path, id) = (file.path, file.id)
        let add: LineSplitter.LineHandler = { line, offsets, truncated in
            batch.appendLine(line, source: path, identity: id, offsets: offsets, truncated: truncated, observedTime: now)
        }
        if var joiner = file.joiner {
            file.splitter.flushPartial { line, offsets, truncated in joiner.add(line, offsets, truncated, now: .now, add) }
            joiner.flush(add)
            file.joiner = joiner
        } else {
            file.splitter.flushPartial(add)
        }
        file.partialSince = nil
        try await emit(batch, of: file)
    }

    /// The file's size now, from its open descriptor.
    private func currentSize(of file: TrackedFile) -> UInt64? {
        guard let descriptor = file.descriptor else { return nil }
        var info = stat()
        return fstat(descriptor, &info) == 0 ? UInt64(info.st_size) : nil
    }

    /// The file's descriptor, opening it (again) when it has new data; nil when there is nothing to read.
    private mutating func openIfGrown(_ file: TrackedFile) -> Int32? {
        if let descriptor = file.descriptor { return descriptor }
        guard !file.detached else { return nil }
        var info = stat()
        guard stat(file.path, &info) == 0, UInt64(info.st_dev) == file.device, UInt64(info.st_ino) == file.inode,
              UInt64(info.st_size) != file.readOffset else { return nil }
        makeRoomForAnotherFile()
        let descriptor = open(file.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            logger.warning("cannot open file", metadata: ["path": "\(file.path)", "error": "\(SystemError("open", path: file.path))"])
            return nil
        }
        file.descriptor = descriptor
        return descriptor
    }

    /// Closes the least recently active attached file when `max_open_files` are open.
    private func makeRoomForAnotherFile() {
        let open = files.values.filter { $0.descriptor != nil }
        guard open.count >= configuration.maxOpenFiles,
              let idlest = open.filter({ !$0.detached }).min(by: { $0.lastActivity < $1.lastActivity }) else { return }
        close(idlest.descriptor!)
        idlest.descriptor = nil
    }

    /// The file's first bytes are no longer what was read: it was truncated and written again past the old offset.
    private func rewritten(_ file: TrackedFile, _ descriptor: Int32) -> Bool {
        guard !file.prefix.isEmpty, let current = readPrefix(descriptor) else { return false }
        return !current.starts(with: file.prefix.prefix(min(file.prefix.count, current.count)))
            || current.count < min(file.prefix.count, Int(file.readOffset))
    }

    /// A short file grew past the fingerprint length: it is now known by its fingerprint.
    private func refreshIdentity(_ file: TrackedFile, _ descriptor: Int32) {
        guard let prefix = readPrefix(descriptor) else { return }
        file.prefix = prefix
        let id = identity(prefix: prefix, device: file.device, inode: file.inode)
        guard id != file.id, !files.values.contains(where: { $0 !== file && $0.id == id }) else { return }
        file.id = id
        file.splitter = file.splitter.renamed(file.path, identity: id)
        track(file)
    }

    /// The file became shorter than what was read: it was truncated (in place, or by copy-truncate). Start again
    /// at its beginning as new content; what was written and not read before the truncation is lost and counted.
    private func truncate(_ file: TrackedFile) {
        let lost = file.size > file.readOffset ? file.size - file.readOffset : 0
        input.metrics.truncations.increment()
        input.metrics.bytesLost.increment(by: Int(lost))
        logger.warning("file truncated; reading it again from its start", metadata: [
            "path": "\(file.path)", "read_offset": "\(file.readOffset)", "unread_bytes_lost": "\(lost)",
        ])
        input.book.retire(file.key)
        file.generation += 1
        file.readOffset = 0
        file.size = 0
        file.partialSince = nil
        file.joiner?.reset()
        file.prefix = file.descriptor.flatMap { readPrefix($0) } ?? []
        file.id = identity(prefix: file.prefix, device: file.device, inode: file.inode)
        if file.id.hasPrefix("fp:"), files.values.contains(where: { $0 !== file && $0.id == file.id }) {
            file.id += "@\(file.device):\(file.inode)"
        }
        file.splitter = LineSplitter(source: file.path, identity: file.id, maxLineBytes: configuration.maxLineBytes.bytes)
        input.ledger.start(file: file.key, generation: file.generation, committed: 0)
        track(file)
    }

    // MARK: Timeouts and letting go

    /// Emits lines held past their timeouts; closes idle files; lets go of rotated-away files read to their end.
    private mutating func expireAndLetGo() async throws {
        let now = ContinuousClock.now
        for file in files.values.sorted(by: { $0.key < $1.key }) {
            let atEnd = file.readOffset >= file.size
            if atEnd, let since = file.partialSince, let timeout = configuration.partialLineTimeout, now - since >= timeout.duration {
                try await emitHeld(file)
            } else if atEnd, file.splitter.pendingBytes == 0, file.joiner?.expired(at: now) == true {
                try await emitHeld(file) // the held multiline record waited long enough for more lines
            }
            if file.detached && atEnd && now - file.lastActivity >= configuration.rotateWait.duration {
                if let size = currentSize(of: file), size > file.readOffset { continue } // still written to
                try await emitHeld(file) // a rotated file's last line is complete: nothing more will come
                letGo(file)
            } else if !file.detached && atEnd && file.descriptor != nil && now - file.lastActivity >= configuration.closeInactive.duration {
                close(file.descriptor!)
                file.descriptor = nil
            }
        }
    }

    private mutating func letGo(_ file: TrackedFile) {
        logger.info("file read to its end; letting it go", metadata: ["path": "\(file.path)", "offset": "\(file.readOffset)"])
        if let descriptor = file.descriptor { close(descriptor) }
        file.descriptor = nil
        files[file.key] = nil
        input.book.release(file.key)
    }

    mutating func closeAll() {
        for file in files.values {
            if let descriptor = file.descriptor { close(descriptor) }
            file.descriptor = nil
        }
        watcher?.close()
    }
}
