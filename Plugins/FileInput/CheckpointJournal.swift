import TraceTailCore
#if canImport(Glibc)
import Glibc
#endif

/// The acknowledgement journal: each time a file's delivered offset moves (or the file gets a new path), one
/// checkpoint entry is appended as a JSON line — one `write(2)` per acknowledged batch, no fsync, so it survives a
/// crash of TraceTail (not of the machine) — and a restart repeats only what was in flight, not what was
/// acknowledged since the last checkpoint save.
///
/// Journals are numbered (`<base>.<n>`). A checkpoint save starts the next journal, writes the checkpoint file
/// naming that number, then deletes the journals before it: a crash at any point leaves a checkpoint file and the
/// journals written after it, replayed in order over it (a torn last line is ignored).
struct CheckpointJournal {
    let basePath: String
    /// The journal being appended to.
    private(set) var number: UInt64
    /// The first journal not yet folded into the checkpoint file.
    private var firstUnfolded: UInt64
    private var descriptor: Int32 = -1

    /// Replays journals `first`, `first + 1`, … over `entries` (later lines win) and opens the one after the last
    /// found for appending.
    init(basePath: String, replayingFrom first: UInt64, into entries: inout [String: Checkpoint]) {
        self.basePath = basePath
        firstUnfolded = first
        var number = first
        while let bytes = try? FileSystem.read(Self.path(basePath, number)) {
            for line in bytes.split(separator: UInt8(ascii: "\n")) {
                // A torn or damaged line (a crash mid-write) is skipped: at worst its acknowledgement repeats.
                guard let value = try? JSONReader.parse(Array(line)), let entry = try? CheckpointCoding.decode(value) else { continue }
                entries[entry.id] = entry
            }
            number += 1
        }
        self.number = number
        open()
    }

    /// Appends one entry, reporting how the write fared to `writes`. Throws when it cannot be written (the next
    /// checkpoint save still records it; a line torn by a full disk is skipped at replay).
    mutating func append(_ entry: Checkpoint, reporting writes: DataWrites) throws(SystemError) {
        var writer = JSONWriter(capacity: 256)
        CheckpointCoding.encode(entry, into: &writer)
        writer.output.append(UInt8(ascii: "\n"))
        let path = Self.path(basePath, number)
        try writes.attempt(.checkpoints, needed: writer.bytes.count) { () throws(SystemError) in
            if descriptor < 0 { open() }
            guard descriptor >= 0 else { throw SystemError("cannot create", path: path) }
            try FileSystem.writeAll(writer.bytes, to: descriptor, path: path)
        }
    }

    /// Starts the next journal; returns its number, which the checkpoint file written next must name.
    mutating func startNext() -> UInt64 {
        close()
        number += 1
        open()
        return number
    }

    /// Deletes the journals folded into a checkpoint file that names `number`.
    mutating func delete(before number: UInt64) {
        for old in firstUnfolded..<max(firstUnfolded, number) { unlink(Self.path(basePath, old)) }
        firstUnfolded = max(firstUnfolded, number)
    }

    /// Creates the journal being appended to (at once, so that the numbers on disk have no gap to stop a replay).
    private mutating func open() {
        descriptor = Glibc.open(Self.path(basePath, number), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    }

    mutating func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    private static func path(_ base: String, _ number: UInt64) -> String { "\(base).\(number)" }
}
