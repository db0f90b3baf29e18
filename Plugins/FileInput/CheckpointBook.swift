import Logging
import Synchronization
import TraceTailCore

/// The checkpoints of one file input: those loaded at startup and those of the files being read, whose offsets
/// come from the acknowledgement ledger. Shared by the reading loop (periodic saves) and `finish` (the last save).
final class CheckpointBook: Sendable {
    /// What the book knows of a file being read.
    struct Live {
        var id: String
        var path: String
        var prefixLength: Int
        var prefixHash: UInt64
        /// Whether it is still being read (false once let go; it stays until its batches settled).
        var active = true
    }

    private struct State {
        var saved: [String: Checkpoint]
        var live: [Int: Live] = [:]
        var dirty = false
    }

    let file: CheckpointFile
    let ledger: AckLedger
    let pruneAfter: Duration
    let logger: Logger
    private let state: Mutex<State>

    init(file: CheckpointFile, ledger: AckLedger, pruneAfter: Duration, logger: Logger) {
        self.file = file
        self.ledger = ledger
        self.pruneAfter = pruneAfter
        self.logger = logger
        let loaded: [String: Checkpoint]
        switch file.load() {
        case .entries(let entries):
            loaded = entries
        case .damaged(let reason, let quarantinedAt):
            logger.error("checkpoint file is damaged; starting per start_at", metadata: [
                "file": "\(file.path)", "reason": "\(reason)", "moved_to": "\(quarantinedAt)",
            ])
            loaded = [:]
        }
        state = Mutex(State(saved: loaded))
    }

    /// The saved checkpoint of an identity.
    func checkpoint(_ id: String) -> Checkpoint? {
        state.withLock { $0.saved[id] }
    }

    /// Starts or updates what is known of a file being read.
    func track(_ key: Int, _ live: Live) {
        // A previous identity's entry stays (until pruned): a copy of the old content may still turn up.
        state.withLock { state in
            state.live[key] = live
            state.dirty = true
        }
    }

    /// Keeps what was delivered of a file under its current identity before the file takes a new one (it was
    /// truncated): a copy of the old content (copy-truncate) resumes from there.
    func retire(_ key: Int) {
        state.withLock { state in
            guard let live = state.live[key], let (offset, _) = ledger.committed(file: key) else { return }
            state.saved[live.id] = Checkpoint(id: live.id, path: live.path, offset: offset, prefixLength: live.prefixLength,
                                              prefixHash: live.prefixHash, updated: Clock.nowNanoseconds)
            state.dirty = true
        }
    }

    /// The file is no longer read; its checkpoint stays.
    func release(_ key: Int) {
        state.withLock { state in
            state.live[key]?.active = false
            state.dirty = true
        }
    }

    /// Writes the checkpoints when anything changed (or always, with `force`).
    func save(force: Bool = false) async {
        let now = Clock.nowNanoseconds
        let prune = UInt64(pruneAfter.components.seconds) * 1_000_000_000
        let entries: [String: Checkpoint]? = state.withLock { state in
            var changed = state.dirty
            for (key, live) in state.live {
                guard let (offset, inFlight) = ledger.committed(file: key) else { continue }
                let previous = state.saved[live.id]
                if previous?.offset != offset || previous?.path != live.path {
                    state.saved[live.id] = Checkpoint(id: live.id, path: live.path, offset: offset, prefixLength: live.prefixLength,
                                                      prefixHash: live.prefixHash, updated: now)
                    changed = true
                }
                if !live.active && !inFlight {
                    state.live[key] = nil
                    ledger.remove(file: key)
                }
            }
            let liveIDs = Set(state.live.values.map(\.id))
            for (id, entry) in state.saved where !liveIDs.contains(id) && now > entry.updated + prune {
                state.saved[id] = nil
                changed = true
            }
            state.dirty = false
            return changed || force ? state.saved : nil
        }
        guard let entries else { return }
        do {
            try await BlockingIO.run { [file] in try file.save(entries) }
        } catch {
            logger.error("cannot write checkpoints", metadata: ["file": "\(file.path)", "error": "\(error)"])
            state.withLock { $0.dirty = true }
        }
    }

    /// Bytes read but not yet acknowledged, over the files being read.
    func lag(readOffsets: [Int: UInt64]) -> Int {
        readOffsets.reduce(0) { total, entry in
            total + Int(entry.value - min(entry.value, ledger.committed(file: entry.key)?.offset ?? entry.value))
        }
    }
}
