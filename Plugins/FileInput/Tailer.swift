import Logging
import TraceTailCore
#if canImport(Glibc)
import Glibc
#endif

/// The reading loop of a file input: discovery (globs, renames, deletions, files rotated away before a crash),
/// identity (copies, truncations), reading and letting go.
struct Tailer {
    let input: FileInput
    let emitter: BatchEmitter
    var configuration: FileInput.Configuration { input.configuration }
    var book: CheckpointBook { input.book }
    var logger: Logger { input.context.logger }
    /// In the order they were found, which is the order they are read in.
    var files: [FollowedFile] = [] {
        didSet { lookup = nil }
    }
    /// Finds the files a look at what changed reads; made again after `files` or their paths changed.
    var lookup: FileLookup?
    /// When held lines' timeouts and idle files were last checked.
    var lastExpiry = ContinuousClock.now
    var nextStream = 0
    var nextSequence: UInt64 = 0
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

    /// Which files a pass of the reading loop looks at.
    enum Look {
        /// Every file (at startup, at each poll, at inotify's safety rescan, after lost events).
        case everything
        /// The files written to since the last pass, those that had data in it, and those rotated away or not
        /// yet claimed — so an idle file costs nothing between full looks.
        case changed(written: Set<String>, busy: [FollowedFile])
    }

    /// How often held lines' timeouts and idle files are checked between full looks. Every pass did, going
    /// through every file: with 2,000 idle files and thousands of passes a second that cost more than the reading.
    static let expiryInterval = Duration.milliseconds(100)

    mutating func run() async throws {
        discover(startup: true)
        recoverRotatedFiles()
        var look = Look.everything
        var lastFullLook = ContinuousClock.now
        while true {
            try Task.checkCancellation()
            let busy = try await readAll(look)
            let progressed = !busy.isEmpty
            if case .everything = look {
                try await expireAndLetGo()
            } else if ContinuousClock.now - lastExpiry >= Self.expiryInterval {
                try await expireAndLetGo()
            }
            if ContinuousClock.now - lastCheckpoint >= configuration.checkpointInterval.duration {
                await input.saveCheckpointsInBackground()
                lastCheckpoint = .now
                input.metrics.checkpointLag.set(book.lag(readOffsets: Dictionary(
                    files.filter(\.claimed).map { ($0.stream, $0.readOffset) }, uniquingKeysWith: max)))
            }
            if input.context.once && !progressed {
                // Done once a look at every file found nothing more to read (and nothing waits to be claimed).
                if case .everything = look {
                    if files.allSatisfy({ $0.claimed || $0.size == 0 }) {
                        try await finishOnce()
                        return
                    }
                    try await Task.sleep(for: .milliseconds(20)) // a lookalike waits to be told from a copy
                }
                look = .everything
                discover(startup: false)
                continue
            }
            // Idle: wait for a change (or the poll interval). Busy: collect what changed meanwhile, without waiting.
            let interval = configuration.pollInterval.duration
            var changes: DirectoryChanges?
            if let watcher {
                changes = try await watcher.wait(timeout: progressed ? .zero : interval * 5)
            } else if !progressed {
                try await Task.sleep(for: interval)
            }
            let sinceFullLook = ContinuousClock.now - lastFullLook
            let fullLookDue = if watcher != nil {
                (!progressed && changes == nil) || changes?.overflowed == true || sinceFullLook >= interval * 5
            } else {
                !progressed || sinceFullLook >= interval
            }
            if fullLookDue {
                look = .everything
                lastFullLook = .now
                discover(startup: false)
            } else {
                if changes?.structural == true { discover(startup: false) }
                look = .changed(written: changes?.written ?? [], busy: busy)
            }
        }
    }

    /// `--once`: everything is read; hand out held lines, wait until every batch was delivered, save.
    private mutating func finishOnce() async throws {
        for file in files {
            try await emitHeld(file)
        }
        while book.outstanding > 0 {
            try await Task.sleep(for: .milliseconds(10))
        }
        for file in files { book.release(file.stream) }
    }

    // MARK: Discovery

    /// Finds the matched files, recognises the ones already followed (under a new path after a rename inside the
    /// glob), notes those no longer matched (renamed away: their new path is recorded; deleted), and adds new ones.
    mutating func discover(startup: Bool) {
        var matched: [(path: String, info: stat)] = []
        var seenInodes = Set<InodeKey>()
        for pattern in configuration.include {
            for path in Glob(pattern: pattern).files()
            where !configuration.exclude.contains(where: { Glob.excludes($0, path) }) {
                var info = stat()
                guard stat(path, &info) == 0, seenInodes.insert(InodeKey(info)).inserted else { continue }
                matched.append((path, info))
            }
        }
        let byInode = Dictionary(files.map { (InodeKey($0), $0) }, uniquingKeysWith: { first, _ in first })
        for (path, info) in matched {
            guard let file = byInode[InodeKey(info)] else {
                let prefix = FileIdentity.readPrefix(path: path, count: configuration.fingerprintBytes) ?? []
                let file = FollowedFile(stream: nextStream, path: path, device: UInt64(info.st_dev), inode: UInt64(info.st_ino),
                                        identity: identity(prefix, info), prefix: prefix, offset: 0,
                                        maxLineBytes: configuration.maxLineBytes.bytes, multiline: configuration.multiline,
                                        format: configuration.format)
                nextStream += 1
                file.seenAtStartup = startup
                file.size = UInt64(info.st_size)
                files.append(file)
                // Found while running: held open from the first look, so that a rename out of the globs before its
                // claim is followed (its lines were lost: the path alone no longer leads to it).
                if !startup { _ = open(file) }
                continue
            }
            if file.path != path {
                logger.info("file renamed", metadata: ["from": "\(file.path)", "to": "\(path)"])
                input.metrics.rotations.increment()
                rename(file, to: path)
            }
            file.detached = false
        }
        for file in files where !file.detached && !seenInodes.contains(InodeKey(file)) {
            file.detached = true
            input.metrics.rotations.increment()
            if let newPath = file.currentPath() {
                logger.info("file renamed out of the globs; reading it to its end", metadata: ["from": "\(file.path)", "to": "\(newPath)"])
                rename(file, to: newPath)
            } else {
                logger.info("file deleted or rotated away; reading it to its end", metadata: ["path": "\(file.path)"])
            }
        }
        // A file not claimed yet that left the globs is still claimed and read to its end when it is held open and
        // has bytes (renamed away, or deleted while open); one never opened, or empty, is let go.
        files.removeAll { file in
            guard !file.claimed && file.detached && (file.currentSize() ?? 0) == 0 else { return false }
            file.closeDescriptor()
            return true
        }
        lookup = nil // paths and detachments changed
        watcher?.watch(directories: Set(files.flatMap { [directory(of: $0.path), directory(of: $0.realPath)] }
            + configuration.include.map(Self.staticDirectory)))
        input.metrics.filesWatched.set(files.count)
    }

    /// After a restart: a file whose checkpoint is not fully delivered and that is no longer under the globs (it
    /// was renamed away, perhaps just before a crash) is found again — at its last recorded path, or by device and
    /// inode in that directory — and read to its end.
    private mutating func recoverRotatedFiles() {
        let followed = Set(files.map { InodeKey($0) })
        var listings: [String: [UInt64: String]] = [:]
        for checkpoint in book.unclaimedCheckpoints() where checkpoint.inode != 0 {
            let key = InodeKey(device: checkpoint.device, inode: checkpoint.inode)
            guard !followed.contains(key) else { continue }
            var path = checkpoint.path
            var info = stat()
            if stat(path, &info) != 0 || InodeKey(info) != key {
                let folder = directory(of: checkpoint.path)
                if listings[folder] == nil { listings[folder] = Self.inodes(in: folder) }
                guard let found = listings[folder]?[checkpoint.inode], stat(found, &info) == 0, InodeKey(info) == key else { continue }
                path = found
            }
            guard UInt64(info.st_size) > checkpoint.offset,
                  let prefix = FileIdentity.readPrefix(path: path, count: configuration.fingerprintBytes),
                  checkpoint.confirmed(by: prefix) else { continue }
            var identity = identity(prefix, info)
            identity.distinguished = checkpoint.id.contains("@")
            guard identity.key == checkpoint.id else { continue }
            let file = FollowedFile(stream: nextStream, path: path, device: key.device, inode: key.inode, identity: identity,
                                    prefix: prefix, offset: checkpoint.offset, maxLineBytes: configuration.maxLineBytes.bytes,
                                    multiline: configuration.multiline, format: configuration.format)
            nextStream += 1
            // Opened now: a file out of the globs is read through its descriptor only.
            let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { continue }
            file.descriptor = descriptor
            file.size = UInt64(info.st_size)
            file.detached = true
            file.claimed = true
            files.append(file)
            book.open(file.stream, identity: identity, path: path, committed: checkpoint.offset)
            logger.info("found a file rotated away before the restart; reading its rest", metadata: [
                "path": "\(path)", "offset": "\(checkpoint.offset)", "size": "\(info.st_size)",
            ])
        }
    }

    /// Regular files of a directory by inode (from the directory entries, without a `stat` each).
    private static func inodes(in directory: String) -> [UInt64: String] {
        guard let handle = opendir(directory) else { return [:] }
        defer { closedir(handle) }
        var found: [UInt64: String] = [:]
        while let entry = readdir(handle) {
            guard entry.pointee.d_type == UInt8(DT_REG) || entry.pointee.d_type == UInt8(DT_UNKNOWN) else { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            found[UInt64(entry.pointee.d_ino)] = directory + "/" + name
        }
        return found
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

    private func identity(_ prefix: [UInt8], _ info: stat) -> FileIdentity {
        FileIdentity(prefix: prefix, device: UInt64(info.st_dev), inode: UInt64(info.st_ino),
                     fingerprintBytes: configuration.fingerprintBytes)
    }

    private func rename(_ file: FollowedFile, to path: String) {
        file.rename(to: path)
        if file.claimed { book.update(file.stream, identity: file.identity, path: path) }
    }

    // MARK: Identity

    /// How long a file that looks like a copy is held back to see whether its original gets truncated.
    private var lookalikeWait: Duration { max(configuration.pollInterval.duration * 2, configuration.rotateWait.duration) }

    /// How many first bytes of a lookalike are compared with its original's to tell a copy from a distinct file.
    private static let comparedBytes: UInt64 = 1 << 20

    /// Decides what a newly found file is before any of it is read: true once it is claimed (its stream opened at
    /// the offset to read from). An empty file waits for its first bytes. A file whose first bytes are those of a
    /// file being read may be its copy (copy-truncate): it waits (`rotate_wait`, counted from the last time it grew
    /// with the original's bytes: a copy being written) for the original's truncation, and then takes over the
    /// original's reading state, so nothing is read twice. A lookalike whose original is not truncated by then is
    /// compared with it (up to 1 MiB): the same bytes make it a copy kept beside its original, whose content the
    /// original delivers (it is followed from its end); other bytes make it a distinct file.
    /// Otherwise a confirmed checkpoint gives the offset (a restart, or a copy of a file read before), or
    /// `start_at` does. A file shorter than its checkpoint's offset is read from 0 when it is the checkpoint's own
    /// inode (truncated and written again while stopped); on another inode it is a copy made before what was
    /// delivered since — all of it was delivered — and is followed from its end.
    private mutating func claim(_ file: FollowedFile) -> Bool {
        guard let descriptor = open(file), let prefix = FileIdentity.readPrefix(descriptor, count: configuration.fingerprintBytes),
              !prefix.isEmpty, let size = file.currentSize() else { return false }
        let grew = size != file.size
        file.size = size
        var identity = FileIdentity(prefix: prefix, device: file.device, inode: file.inode, fingerprintBytes: configuration.fingerprintBytes)
        if let original = files.first(where: { $0 !== file && $0.claimed && $0.looksLikeOriginal(ofPrefix: prefix) }) {
            if truncated(original) {
                truncate(original) // its copy (this file, or another) takes over its reading state
                return false
            }
            let compared = min(size, original.readOffset, Self.comparedBytes)
            if grew && Self.sameBytes(file, original, count: compared) { file.unchangedSince = .now } // still being copied
            guard ContinuousClock.now - file.unchangedSince >= lookalikeWait else { return false }
            identity.distinguished = identity.certainty == .fingerprint
            if Self.sameBytes(file, original, count: compared) {
                logger.info("file is a copy of one being read; following it from its end", metadata: [
                    "path": "\(file.path)", "original": "\(original.path)",
                ])
                return open(file, identity: identity, prefix: prefix, at: size)
            }
        }
        var offset: UInt64 = 0
        if let checkpoint = book.checkpoint(identity.key) ?? book.checkpoint(identity.inodeKey), checkpoint.confirmed(by: prefix) {
            let own = checkpoint.inode == 0 || InodeKey(device: checkpoint.device, inode: checkpoint.inode) == InodeKey(file)
            offset = checkpoint.offset <= size ? checkpoint.offset : own ? 0 : size
        } else if file.seenAtStartup && configuration.startAt == .end {
            offset = size
        }
        logger.info("following file", metadata: ["path": "\(file.path)", "offset": "\(offset)", "id": "\(identity.key)"])
        return open(file, identity: identity, prefix: prefix, at: offset)
    }

    /// Claims a file: its stream starts at `offset`.
    private func open(_ file: FollowedFile, identity: FileIdentity, prefix: [UInt8], at offset: UInt64) -> Bool {
        file.identify(as: identity, prefix: offset == 0 ? [] : prefix) // from 0, the first bytes are taken as read
        file.seek(to: offset)
        file.claimed = true
        book.open(file.stream, identity: identity, path: file.path, committed: offset)
        return true
    }

    /// Whether two open files hold the same first `count` bytes.
    private static func sameBytes(_ first: FollowedFile, _ second: FollowedFile, count: UInt64) -> Bool {
        guard let one = first.descriptor, let other = second.descriptor else { return false }
        let chunk = 64 * 1024
        var left = [UInt8](repeating: 0, count: chunk)
        var right = [UInt8](repeating: 0, count: chunk)
        var offset: UInt64 = 0
        while offset < count {
            let want = Int(min(UInt64(chunk), count - offset))
            let a = left.withUnsafeMutableBytes { pread(one, $0.baseAddress, want, off_t(offset)) }
            let b = right.withUnsafeMutableBytes { pread(other, $0.baseAddress, want, off_t(offset)) }
            guard a == want, b == want, left[..<want] == right[..<want] else { return false }
            offset += UInt64(want)
        }
        return true
    }

    /// Whether the file is now shorter than what was read, or holds other bytes where it was read — whatever its
    /// size: truncated and written again between two looks, it may hold as many bytes as were read, or more.
    private func truncated(_ file: FollowedFile) -> Bool {
        guard let size = file.currentSize() else { return false }
        return size < file.readOffset || file.rewritten(fingerprintBytes: configuration.fingerprintBytes)
    }

    /// The file was truncated (in place, or by copy-truncate). Its copy, when there is one — among the files
    /// found and not yet read, or beside it outside the globs — takes over its reading state and is read on from
    /// where the original was, so lines in flight are not sent again and lines not yet read are read from the
    /// copy. The file itself starts again at offset 0 as new content. Without a copy, what was seen in the file and
    /// not read is lost, and counted.
    private mutating func truncate(_ original: FollowedFile) {
        input.metrics.truncations.increment()
        if let copy = takeOverCopy(of: original) {
            logger.info("file copied and truncated; reading the rest of its copy", metadata: [
                "path": "\(original.path)", "copy": "\(copy.path)", "read_offset": "\(original.readOffset)",
            ])
            book.update(copy.stream, identity: copy.identity, path: copy.path)
        } else {
            let lost = original.size > original.readOffset ? original.size - original.readOffset : 0
            input.metrics.bytesLost.increment(by: Int(lost))
            logger.warning("file truncated; reading it again from its start", metadata: [
                "path": "\(original.path)", "read_offset": "\(original.readOffset)", "unread_bytes_lost": "\(lost)",
            ])
            book.release(original.stream)
        }
        original.restart(stream: nextStream, fingerprintBytes: configuration.fingerprintBytes)
        nextStream += 1
        book.open(original.stream, identity: original.identity, path: original.path, committed: 0)
    }

    /// Finds the copy of a truncated file — a file not followed whose first bytes are those read of the original —
    /// and, when it holds at least as much as was read, makes it the reader of the original's content; a shorter
    /// copy holds only what was delivered already, and is followed from its end.
    private mutating func takeOverCopy(of original: FollowedFile) -> FollowedFile? {
        guard original.readOffset > 0, !original.prefix.isEmpty else { return nil }
        let candidates = files.filter { !$0.claimed }.map { ($0.path, InodeKey($0)) }
            + Self.inodes(in: directory(of: original.path)).map { ($0.value, InodeKey(device: original.device, inode: $0.key)) }
        let followed = Set(files.filter(\.claimed).map { InodeKey($0) })
        for (path, key) in candidates where !followed.contains(key) && key != InodeKey(original) {
            guard let prefix = FileIdentity.readPrefix(path: path, count: configuration.fingerprintBytes), !prefix.isEmpty,
                  prefix.starts(with: original.prefix) || original.prefix.starts(with: prefix) else { continue }
            var info = stat()
            guard stat(path, &info) == 0, InodeKey(info) == key else { continue }
            if UInt64(info.st_size) < original.readOffset {
                // A copy made before what was read since: all of it was delivered from the original.
                if let file = files.first(where: { !$0.claimed && InodeKey($0) == key }), file.descriptor != nil {
                    var identity = FileIdentity(prefix: prefix, device: key.device, inode: key.inode,
                                                fingerprintBytes: configuration.fingerprintBytes)
                    identity.distinguished = identity.certainty == .fingerprint
                    _ = open(file, identity: identity, prefix: prefix, at: UInt64(info.st_size))
                }
                continue
            }
            let copy = FollowedFile(copyOf: original, path: path, device: key.device, inode: key.inode)
            copy.descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard copy.descriptor ?? -1 >= 0 else { continue }
            copy.size = UInt64(info.st_size)
            let inGlobs = files.contains { !$0.claimed && InodeKey($0) == key }
            copy.detached = !inGlobs
            files.removeAll { !$0.claimed && InodeKey($0) == key }
            files.append(copy)
            return copy
        }
        return nil
    }

    /// A short file's first bytes, as read, grew: its identity is taken from them again. Known by inode, it then
    /// covers every byte read, so its checkpoint is confirmed by that content only (not by whatever the inode holds
    /// after a truncation and a restart); once they reach the fingerprint length, it is known by its fingerprint.
    private func refreshIdentity(_ file: FollowedFile) {
        let identity = FileIdentity(prefix: file.prefix, device: file.device, inode: file.inode, fingerprintBytes: configuration.fingerprintBytes)
        guard identity != file.identity, !files.contains(where: { $0 !== file && $0.identity.key == identity.key }) else { return }
        file.identify(as: identity, prefix: file.prefix)
        book.update(file.stream, identity: identity, path: file.path)
    }

    // MARK: Reading

    /// Reads what is new in the files `look` names; returns the files that had data.
    private mutating func readAll(_ look: Look) async throws -> [FollowedFile] {
        let looked: [FollowedFile]
        switch look {
        case .everything:
            looked = files
        case .changed(let written, let busy):
            if lookup == nil { lookup = FileLookup(files) }
            looked = lookup!.changed(written: written, busy: busy)
        }
        var busy: [FollowedFile] = []
        for file in looked {
            try Task.checkCancellation()
            guard file.claimed || claim(file) else { continue }
            if try await read(file) { busy.append(file) }
        }
        return busy
    }

    /// Reads up to a few chunks of one file; true when anything was read.
    private mutating func read(_ file: FollowedFile) async throws -> Bool {
        guard let descriptor = open(file), let size = file.currentSize() else { return false }
        if truncated(file) {
            truncate(file)
        }
        file.size = size
        var progressed = false
        for _ in 0..<4 where file.readOffset < file.size {
            let count = try await buffer.read(descriptor, at: file.readOffset, name: file.path)
            guard count > 0 else { break }
            progressed = true
            file.lastActivity = .now
            if file.prefix.count < configuration.fingerprintBytes {
                let known = file.prefix.count
                if UInt64(file.prefix.count) == file.readOffset {
                    // The first bytes as read, not as the file holds them by the next look: a rewrite is told by them.
                    file.prefix += buffer.bytes(count: count).prefix(configuration.fingerprintBytes - file.prefix.count)
                } else if file.readOffset + UInt64(count) >= UInt64(configuration.fingerprintBytes),
                          let prefix = FileIdentity.readPrefix(descriptor, count: configuration.fingerprintBytes) {
                    file.prefix = prefix // read from a checkpoint on: the bytes before it as the file holds them
                }
                if file.prefix.count > known { refreshIdentity(file) }
            }
            file.readOffset += UInt64(count)
            input.metrics.bytesRead.increment(by: count)
            input.progress?.update(file.path, read: file.readOffset, size: file.size)
            var batch = RecordBatch(ack: AckToken(nextSequence))
            let (truncatedBefore, malformedBefore) = (file.truncatedLines, file.framer?.malformedLines ?? 0)
            file.append(buffer.bytes(count: count), to: &batch)
            input.metrics.linesTruncated.increment(by: file.truncatedLines - truncatedBefore)
            input.metrics.malformedFraming.increment(by: (file.framer?.malformedLines ?? 0) - malformedBefore)
            try await emit(consume batch, of: file)
        }
        if file.holdsPartial {
            file.partialSince = file.partialSince ?? .now
        } else {
            file.partialSince = nil
        }
        return progressed
    }

    /// Emits a batch of one file, registering it with the book first (an acknowledgement may come at once).
    private mutating func emit(_ batch: consuming RecordBatch, of file: FollowedFile) async throws {
        let end = file.settledOffset
        input.metrics.linesRead.increment(by: batch.records.count)
        guard !batch.records.isEmpty else {
            book.settle(file.stream, end: end)
            return
        }
        book.register(file.stream, sequence: batch.ack.sequence, end: end)
        nextSequence += 1
        try await emitter.emit(consume batch)
    }

    /// Hands out a held partial line and multiline record (end of a rotated file, a timeout, or `--once`).
    private mutating func emitHeld(_ file: FollowedFile) async throws {
        guard file.claimed else { return }
        try await emit(file.takeHeld(ack: AckToken(nextSequence)), of: file)
    }

    /// The file's descriptor, opening it (again) when it has new data; nil when there is nothing to read.
    private mutating func open(_ file: FollowedFile) -> Int32? {
        if let descriptor = file.descriptor { return descriptor }
        guard !file.detached else { return nil }
        var info = stat()
        guard stat(file.path, &info) == 0, InodeKey(info) == InodeKey(file),
              !file.claimed || UInt64(info.st_size) != file.readOffset else { return nil }
        makeRoomForAnotherFile()
        let descriptor = Glibc.open(file.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            logger.warning("cannot open file", metadata: ["path": "\(file.path)", "error": "\(SystemError("open", path: file.path))"])
            return nil
        }
        file.descriptor = descriptor
        return descriptor
    }

    /// Closes the least recently active attached file when `max_open_files` are open.
    private func makeRoomForAnotherFile() {
        let open = files.filter { $0.descriptor != nil }
        guard open.count >= configuration.maxOpenFiles,
              let idlest = open.filter({ !$0.detached }).min(by: { $0.lastActivity < $1.lastActivity }) else { return }
        idlest.closeDescriptor()
    }

    // MARK: Timeouts and letting go

    /// Emits lines held past their timeouts; closes idle files; lets go of rotated-away files read to their end.
    private mutating func expireAndLetGo() async throws {
        let now = ContinuousClock.now
        lastExpiry = now
        input.metrics.filesOpen.set(files.count { $0.descriptor != nil })
        for file in files where file.claimed {
            if file.atEnd, let since = file.partialSince, let timeout = configuration.partialLineTimeout, now - since >= timeout.duration {
                try await emitHeld(file)
            } else if file.atEnd, file.splitter.pendingBytes == 0, file.joiner?.expired(at: now) == true {
                try await emitHeld(file) // the held multiline record waited long enough for more lines
            }
            if file.detached && file.atEnd && now - file.lastActivity >= configuration.rotateWait.duration {
                if let size = file.currentSize(), size > file.readOffset { continue } // still written to
                try await emitHeld(file) // a rotated file's last line is complete: nothing more will come
                letGo(file)
            } else if !file.detached && file.atEnd && file.descriptor != nil && now - file.lastActivity >= configuration.closeInactive.duration {
                file.closeDescriptor()
            }
        }
    }

    private mutating func letGo(_ file: FollowedFile) {
        logger.info("file read to its end; letting it go", metadata: ["path": "\(file.path)", "offset": "\(file.readOffset)"])
        file.closeDescriptor()
        files.removeAll { $0 === file }
        book.release(file.stream)
    }

    mutating func closeAll() {
        for file in files { file.closeDescriptor() }
        watcher?.close()
    }
}

/// A file's device and inode: what a path leads to.
struct InodeKey: Hashable {
    var device: UInt64
    var inode: UInt64

    init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    init(_ info: stat) {
        self.init(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    init(_ file: FollowedFile) {
        self.init(device: file.device, inode: file.inode)
    }
}

extension FollowedFile {
    /// Whether a file whose first bytes are `prefix` could be a copy of this one: it starts with the first bytes
    /// read of this one, or (a copy still being written) they start with it.
    func looksLikeOriginal(ofPrefix prefix: [UInt8]) -> Bool {
        guard readOffset > 0, !self.prefix.isEmpty else { return false }
        return prefix.starts(with: self.prefix) || self.prefix.starts(with: prefix)
    }
}
