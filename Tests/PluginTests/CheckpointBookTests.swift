import Foundation
import Logging
import Testing
import TestSupport
import TraceTailCore
@testable import FileInput

/// The checkpoint book against a model: random registrations, settlements, acknowledgements in any order, saves
/// and crashes (a new book loaded from the same files). After every crash the loaded checkpoint of each file must
/// be exactly what the model says was committed — the highest contiguous acknowledged offset — neither behind
/// (a crash would repeat acknowledged lines) nor ahead (it would skip undelivered ones).
@Suite struct CheckpointBookTests {
    enum Operation: CustomStringConvertible, Sendable {
        case open(file: Int)
        case register(file: Int, bytes: UInt64)
        case settle(file: Int, bytes: UInt64)
        /// Acknowledges the `pick`-th outstanding batch (modulo their count).
        case acknowledge(pick: Int)
        case rename(file: Int)
        case save
        case crash
        /// A crash in the middle of a journal write: half a line at the end of the newest journal.
        case tornJournal

        var description: String {
            switch self {
            case .open(let file): "open(\(file))"
            case .register(let file, let bytes): "register(\(file), \(bytes))"
            case .settle(let file, let bytes): "settle(\(file), \(bytes))"
            case .acknowledge(let pick): "acknowledge(\(pick))"
            case .rename(let file): "rename(\(file))"
            case .save: "save"
            case .crash: "crash"
            case .tornJournal: "tornJournal"
            }
        }
    }

    static func generate(seed: UInt64, count: Int) -> [Operation] {
        var random = SeededRandom(seed: seed)
        return (0..<count).map { _ in
            let file = random.below(3)
            switch random.below(100) {
            case 0..<8: return .open(file: file)
            case 8..<45: return .register(file: file, bytes: UInt64(random.between(1...500)))
            case 45..<52: return .settle(file: file, bytes: UInt64(random.between(1...50)))
            case 52..<85: return .acknowledge(pick: random.below(8))
            case 85..<88: return .rename(file: file)
            case 88..<93: return .save
            case 93..<98: return .crash
            default: return .tornJournal
            }
        }
    }

    /// What the book must know: per file, its pieces in order and whether each was acknowledged.
    struct Model {
        var committed: [Int: UInt64] = [:]
        var pending: [Int: [(sequence: UInt64?, end: UInt64, acknowledged: Bool)]] = [:]
        var end: [Int: UInt64] = [:]

        mutating func advance(_ file: Int) {
            while let first = pending[file]?.first, first.acknowledged {
                committed[file] = max(committed[file] ?? 0, first.end)
                pending[file]!.removeFirst()
            }
        }
    }

    static func identity(_ file: Int) -> FileIdentity {
        FileIdentity(prefix: [UInt8(file)], device: 7, inode: UInt64(100 + file), fingerprintBytes: 1024)
    }

    /// Runs the operations; returns the first disagreement with the model, or nil.
    static func run(_ operations: [Operation], directory: String) -> String? {
        try? FileManager.default.removeItem(atPath: directory)
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/checkpoints.json"
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let writes = DataWrites(logger: logger, metrics: MetricsScope(pipeline: "test", stage: "book", kind: "file"),
                                health: .detached)
        var book = CheckpointBook(path: path, pruneAfter: .seconds(86_400), logger: logger, writes: writes)
        var model = Model()
        var open = Set<Int>()
        var outstanding: [(sequence: UInt64, file: Int)] = []
        var nextSequence: UInt64 = 0
        var renames: [Int: Int] = [:]
        for (step, operation) in operations.enumerated() {
            switch operation {
            case .open(let file):
                guard !open.contains(file) else { continue }
                // As the tailer does: a file is read on from its checkpoint.
                let committed = book.checkpoint(identity(file).key)?.offset ?? 0
                guard committed == (model.committed[file] ?? 0) else {
                    return "step \(step): \(file) opens at \(committed), the model committed \(model.committed[file] ?? 0)"
                }
                let path = renames[file].map { "/logs/\(file).log.\($0)" } ?? "/logs/\(file).log"
                book.open(file, identity: identity(file), path: path, committed: committed)
                open.insert(file)
                model.end[file] = committed
                model.pending[file] = []
            case .register(let file, let bytes):
                guard open.contains(file) else { continue }
                model.end[file]! += bytes
                book.register(file, sequence: nextSequence, end: model.end[file]!)
                model.pending[file]!.append((nextSequence, model.end[file]!, false))
                outstanding.append((nextSequence, file))
                nextSequence += 1
            case .settle(let file, let bytes):
                guard open.contains(file) else { continue }
                model.end[file]! += bytes
                book.settle(file, end: model.end[file]!)
                model.pending[file]!.append((nil, model.end[file]!, true))
                model.advance(file)
            case .acknowledge(let pick):
                guard !outstanding.isEmpty else { continue }
                let (sequence, file) = outstanding.remove(at: pick % outstanding.count)
                book.acknowledge(sequence)
                if let index = model.pending[file]?.firstIndex(where: { $0.sequence == sequence }) {
                    model.pending[file]![index].acknowledged = true
                    model.advance(file)
                }
            case .rename(let file):
                guard open.contains(file) else { continue }
                renames[file, default: 0] += 1
                book.update(file, identity: identity(file), path: "/logs/\(file).log.\(renames[file]!)")
            case .save:
                try? book.save()
            case .crash, .tornJournal:
                if case .tornJournal = operation {
                    let journals = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.contains(".journal.") }
                    if let newest = journals.max(by: { $0.count < $1.count || ($0.count == $1.count && $0 < $1) }) {
                        try? FileSystem.append(Array(#"{"id":"ino:7:10"#.utf8), to: directory + "/" + newest)
                    }
                }
                book = CheckpointBook(path: path, pruneAfter: .seconds(86_400), logger: logger, writes: writes)
                open = []
                outstanding = []
                model.pending = [:]
                for (file, committed) in model.committed {
                    guard let saved = book.checkpoint(identity(file).key) else { return "step \(step): no checkpoint of \(file)" }
                    guard saved.offset == committed else {
                        return "step \(step): \(file) checkpointed at \(saved.offset), the model committed \(committed)"
                    }
                    let expectedPath = renames[file].map { "/logs/\(file).log.\($0)" } ?? "/logs/\(file).log"
                    guard saved.path == expectedPath else { return "step \(step): \(file) saved under \(saved.path), not \(expectedPath)" }
                }
            }
        }
        return nil
    }

    @Test func checkpointsAfterACrashAreExactlyWhatWasCommitted() async throws {
        let directory = temporaryDirectory()
        let failing = try await onOwnThread { () -> (seed: UInt64, operations: [Operation], failure: String)? in
            for seed in PropertyCheck.seeds(count: 100) {
                let operations = Self.generate(seed: seed, count: 120)
                if let failure = Self.run(operations, directory: directory) { return (seed, operations, failure) }
            }
            return nil
        }
        guard let (seed, operations, failure) = failing else { return }
        let shrunk = await SequenceShrinker(maxRuns: 2_000, budget: .seconds(60))
            .shrink(operations) { Self.run($0, directory: directory) != nil }.sequence
        Issue.record("""
            seed \(seed) (replay: TRACETAIL_SEED=\(seed)): \(failure)
            shrunk to \(shrunk.count) operations: \(shrunk.map(\.description).joined(separator: ", "))
            which fails with: \(Self.run(shrunk, directory: directory) ?? "?")
            """)
    }
}
