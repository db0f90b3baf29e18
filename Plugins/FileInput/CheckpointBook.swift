import Logging
import Synchronization
import TraceTailCore

/// What has been delivered of each file, and the checkpoints that keep it across restarts.
///
/// The reading loop opens a *stream* per file content it reads (a truncated file starts a new stream; a
/// copy-truncate copy takes over its original's) and registers every batch before emitting it; acknowledgements
/// (from output tasks) commit each stream in order through its `OrderedCommitLog`, and every commit that moves is
/// appended to the journal at once, so a crash repeats only what was in flight. `save` folds the journal into the
/// checkpoint file now and then, and prunes the checkpoints of files long gone.
final class CheckpointBook: Sendable {
    /// One file content being read, or read and waiting for its last acknowledgements.
    private struct Stream {
        var identity: FileIdentity
        var path: String
        var commits: OrderedCommitLog<UInt64>
        /// Whether the file is still being read (false once let go; the stream stays until its batches settled).
        var active = true
    }

    private struct State {
        var saved: [String: Checkpoint]
        var streams: [Int: Stream] = [:]
        /// An emitted batch's stream and ticket, by its acknowledgement sequence.
        var tickets: [UInt64: (stream: Int, ticket: OrderedCommitLog<UInt64>.Ticket)] = [:]
        var journal: CheckpointJournal
        var dirty = false
    }

    let file: CheckpointFile
    let pruneAfter: Duration
    let logger: Logger
    /// Where a failed journal or checkpoint write (a full disk) is reported: logged once, counted, not ready.
    let writes: DataWrites
    private let state: Mutex<State>

    /// Loads the checkpoint file and replays the journals written after it.
    init(path: String, pruneAfter: Duration, logger: Logger, writes: DataWrites) {
        file = CheckpointFile(path: path)
        self.pruneAfter = pruneAfter
        self.logger = logger
        self.writes = writes
        var contents: CheckpointFile.Contents
        switch file.load() {
        case .contents(let loaded):
            contents = loaded
        case .damaged(let reason, let quarantinedAt):
            logger.error("checkpoint file is damaged; starting per start_at", metadata: [
                "file": "\(file.path)", "reason": "\(reason)", "moved_to": "\(quarantinedAt)",
            ])
            contents = CheckpointFile.Contents()
        }
        if let slash = path.lastIndex(of: "/") { try? FileSystem.createDirectory(String(path[..<slash])) }
        let journal = CheckpointJournal(basePath: path + ".journal", replayingFrom: contents.journal, into: &contents.entries)
        state = Mutex(State(saved: contents.entries, journal: journal, dirty: true))
    }

    /// The saved checkpoint of an identity key.
    func checkpoint(_ id: String) -> Checkpoint? {
        state.withLock { $0.saved[id] }
    }

    /// Every saved checkpoint that no stream is reading.
    func unclaimedCheckpoints() -> [Checkpoint] {
        state.withLock { state in
            let claimed = Set(state.streams.values.map(\.identity.key))
            return state.saved.values.filter { !claimed.contains($0.id) }
        }
    }

    /// Starts a stream: a file content read from `committed` on (everything before it is delivered).
    func open(_ stream: Int, identity: FileIdentity, path: String, committed: UInt64) {
        state.withLock { state in
            state.streams[stream] = Stream(identity: identity, path: path, commits: OrderedCommitLog(committed: committed))
            record(stream, &state)
        }
    }

    /// The stream's file has a new path (renamed, or a copy took it over) or identity (it grew past the
    /// fingerprint length): recorded in the journal at once, so that a crash right after a rename still finds it.
    func update(_ stream: Int, identity: FileIdentity, path: String) {
        state.withLock { state in
            guard state.streams[stream] != nil else { return }
            state.streams[stream]!.identity = identity
            state.streams[stream]!.path = path
            record(stream, &state)
        }
    }

    /// Registers a batch about to be emitted, ending at byte `end` of the stream.
    func register(_ stream: Int, sequence: UInt64, end: UInt64) {
        state.withLock { state in
            guard let ticket = state.streams[stream]?.commits.register(end: end) else { return }
            state.tickets[sequence] = (stream, ticket)
        }
    }

    /// Bytes up to `end` held no record (blank lines, the skipped rest of a long line): committed in turn.
    func settle(_ stream: Int, end: UInt64) {
        state.withLock { state in
            let before = state.streams[stream]?.commits.committed
            state.streams[stream]?.commits.settle(end: end)
            if state.streams[stream]?.commits.committed != before { record(stream, &state) }
        }
    }

    /// Every output settled the batch: commits its stream as far as it is contiguous, and journals the move.
    func acknowledge(_ sequence: UInt64) {
        state.withLock { state in
            guard let (stream, ticket) = state.tickets.removeValue(forKey: sequence),
                  state.streams[stream]?.commits.acknowledge(ticket) == true else { return }
            record(stream, &state)
        }
    }

    /// The stream's file is no longer read; its checkpoint stays, and the stream goes once its batches settled.
    func release(_ stream: Int) {
        state.withLock { state in
            state.streams[stream]?.active = false
            state.dirty = true
        }
    }

    /// The delivered offset of a stream, and whether batches of it are in flight.
    func committed(_ stream: Int) -> (offset: UInt64, inFlight: Bool)? {
        state.withLock { state in state.streams[stream].map { ($0.commits.committed, !$0.commits.isSettled) } }
    }

    /// Batches emitted and not yet acknowledged, over all streams.
    var outstanding: Int {
        state.withLock { $0.tickets.count }
    }

    /// Bytes read but not yet acknowledged, over the streams being read.
    func lag(readOffsets: [Int: UInt64]) -> Int {
        state.withLock { state in
            readOffsets.reduce(0) { total, entry in
                let committed = state.streams[entry.key]?.commits.committed ?? entry.value
                return total + Int(entry.value - min(entry.value, committed))
            }
        }
    }

    /// Folds the journal into the checkpoint file when anything changed (or always, with `force`), forgets
    /// released streams that settled, and prunes checkpoints of files gone for `prune_after`. Throws when the
    /// file cannot be written (reported through `writes`; it is tried again at the next save).
    func save(force: Bool = false) throws(SystemError) {
        let now = Clock.nowNanoseconds
        let prune = UInt64(pruneAfter.components.seconds) * 1_000_000_000
        let snapshot: CheckpointFile.Contents? = state.withLock { state in
            for (key, stream) in state.streams where !stream.active && stream.commits.isSettled {
                state.streams[key] = nil
            }
            let reading = Set(state.streams.values.map(\.identity.key))
            for (id, entry) in state.saved where !reading.contains(id) && now > entry.updated + prune {
                state.saved[id] = nil
                state.dirty = true
            }
            guard state.dirty || force else { return nil }
            state.dirty = false
            return CheckpointFile.Contents(entries: state.saved, journal: state.journal.startNext())
        }
        guard let snapshot else { return }
        do throws(SystemError) {
            try file.save(snapshot, reporting: writes)
        } catch {
            state.withLock { $0.dirty = true }
            throw error
        }
        state.withLock { $0.journal.delete(before: snapshot.journal) }
    }

    /// Closes the journal (the input stopped).
    func close() {
        state.withLock { $0.journal.close() }
    }

    /// Writes the stream's checkpoint into the book and the journal.
    private func record(_ stream: Int, _ state: inout State) {
        guard let current = state.streams[stream] else { return }
        let entry = Checkpoint(identity: current.identity, path: current.path, offset: current.commits.committed,
                               updated: Clock.nowNanoseconds)
        state.saved[entry.id] = entry
        state.dirty = true
        // Reading goes on when this fails: the periodic save still keeps the checkpoint, and at worst a crash
        // before it repeats lines (never loses them).
        try? state.journal.append(entry, reporting: writes)
    }
}
