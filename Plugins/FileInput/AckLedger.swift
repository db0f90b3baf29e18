import DequeModule
import Synchronization
import TraceTailCore

/// Which bytes of each file have been delivered. The reading loop registers every batch before emitting it;
/// acknowledgements (from output tasks) mark batches; a file's committed offset moves only to the end of the
/// longest run of acknowledged batches from its start, so a checkpoint never skips an undelivered record.
final class AckLedger: Sendable {
    private struct FileState {
        var generation: Int
        var committed: UInt64
        var pending = Deque<(sequence: UInt64, end: UInt64, acknowledged: Bool)>()
    }

    private struct State {
        var files: [Int: FileState] = [:]
        var tokens: [UInt64: (file: Int, generation: Int)] = [:]
    }

    private let state = Mutex(State())

    /// Starts (or, after a truncation, restarts) a file's bookkeeping at `committed`.
    func start(file: Int, generation: Int, committed: UInt64) {
        state.withLock { $0.files[file] = FileState(generation: generation, committed: committed) }
    }

    /// Registers a batch about to be emitted, ending at `end`.
    func register(file: Int, generation: Int, sequence: UInt64, end: UInt64) {
        state.withLock { state in
            guard state.files[file]?.generation == generation else { return }
            state.files[file]!.pending.append((sequence, end, false))
            state.tokens[sequence] = (file, generation)
        }
    }

    /// Bytes up to `end` held no record (blank lines, the skipped rest of a long line): settled at once.
    func settle(file: Int, generation: Int, end: UInt64) {
        state.withLock { state in
            guard state.files[file]?.generation == generation else { return }
            state.files[file]!.pending.append((0, end, true))
            Self.advance(&state.files[file]!)
        }
    }

    func acknowledge(_ sequence: UInt64) {
        state.withLock { state in
            guard let (file, generation) = state.tokens.removeValue(forKey: sequence),
                  state.files[file]?.generation == generation,
                  let index = state.files[file]!.pending.firstIndex(where: { $0.sequence == sequence && !$0.acknowledged })
            else { return }
            state.files[file]!.pending[index].acknowledged = true
            Self.advance(&state.files[file]!)
        }
    }

    private static func advance(_ file: inout FileState) {
        while let first = file.pending.first, first.acknowledged {
            file.committed = max(file.committed, first.end)
            file.pending.removeFirst()
        }
    }

    /// The delivered offset of a file, and whether batches of it are still in flight.
    func committed(file: Int) -> (offset: UInt64, inFlight: Bool)? {
        state.withLock { state in state.files[file].map { ($0.committed, !$0.pending.isEmpty) } }
    }

    /// Forgets a file whose batches have all settled.
    func remove(file: Int) {
        state.withLock { state in _ = state.files.removeValue(forKey: file) }
    }

    /// Batches emitted and not yet acknowledged, over all files.
    var outstanding: Int {
        state.withLock { $0.tokens.count }
    }
}
