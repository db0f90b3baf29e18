import TraceTailCore

/// Where reading of one file stands, as saved in the pipeline's data directory.
struct Checkpoint: Equatable {
    /// The file's identity key (`FileIdentity.key`).
    var id: String
    /// The last path the file was seen under — after a rename out of the glob, its new path — so that a file
    /// rotated away and not yet read to its end is found again after a crash.
    var path: String
    var device: UInt64
    var inode: UInt64
    /// Every byte before this offset was delivered (acknowledged).
    var offset: UInt64
    /// How many first bytes `prefixHash` covers, to confirm an `ino:` identity (inodes are reused).
    var prefixLength: Int
    var prefixHash: UInt64
    /// When this entry last changed, in nanoseconds since the epoch; old entries of vanished files are pruned.
    var updated: UInt64

    init(identity: FileIdentity, path: String, offset: UInt64, updated: UInt64) {
        id = identity.key
        self.path = path
        device = identity.device
        inode = identity.inode
        self.offset = offset
        prefixLength = identity.prefixLength
        prefixHash = identity.prefixHash
        self.updated = updated
    }

    /// Whether the file whose first bytes are `prefix` is the one this checkpoint was saved for.
    func confirmed(by prefix: [UInt8]) -> Bool {
        prefix.count >= prefixLength && StableHash.hash(prefix.prefix(prefixLength), seed: 0) == prefixHash
    }
}

/// How checkpoints are written as JSON: one object per file, in the checkpoint file's `files` list and, one per
/// line, in the acknowledgement journal.
enum CheckpointCoding {
    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    static func decode(_ value: JSONValue) throws -> Checkpoint {
        guard case .string(let id)? = value["id"], case .string(let path)? = value["path"],
              case .int(let offset)? = value["offset"], offset >= 0,
              case .int(let prefixLength)? = value["prefix_length"], case .string(let hash)? = value["prefix_hash"],
              let prefixHash = UInt64(hash, radix: 16), case .int(let updated)? = value["updated"] else {
            throw Malformed(description: "an entry lacks id, path, offset, prefix_length, prefix_hash or updated")
        }
        // Version 1 files had no device and inode: 0 matches no file, so such an entry is found by its path only.
        var device: UInt64 = 0
        var inode: UInt64 = 0
        if case .int(let number)? = value["device"] { device = UInt64(bitPattern: number) }
        if case .int(let number)? = value["inode"] { inode = UInt64(bitPattern: number) }
        var checkpoint = Checkpoint(
            identity: FileIdentity(prefix: [], device: device, inode: inode, fingerprintBytes: .max),
            path: path, offset: UInt64(offset), updated: UInt64(updated))
        checkpoint.id = id
        checkpoint.prefixLength = Int(prefixLength)
        checkpoint.prefixHash = prefixHash
        return checkpoint
    }

    static func encode(_ entry: Checkpoint, into writer: inout JSONWriter) {
        writer.object { file in
            file.string("id", entry.id)
            file.string("path", entry.path)
            file.int("device", entry.device)
            file.int("inode", entry.inode)
            file.int("offset", entry.offset)
            file.int("prefix_length", entry.prefixLength)
            file.string("prefix_hash", String(entry.prefixHash, radix: 16))
            file.int("updated", entry.updated)
        }
    }
}

/// Reads and writes the checkpoint file: atomically, recovering a leftover temporary file, and reporting (never
/// crashing on) a damaged one. The file names the first acknowledgement journal not yet folded into it.
struct CheckpointFile {
    let path: String

    /// What a checkpoint file holds.
    struct Contents {
        var entries: [String: Checkpoint] = [:]
        /// Journals numbered from this one on were written after the file and are replayed over it.
        var journal: UInt64 = 0
    }

    enum Loaded {
        case contents(Contents)
        /// The file was damaged; it was moved aside to `quarantinedAt`.
        case damaged(reason: String, quarantinedAt: String)
    }

    func load() -> Loaded {
        switch AtomicFile.read(path) {
        case .missing:
            return .contents(Contents())
        case .found(let bytes):
            do {
                return .contents(try decode(bytes))
            } catch {
                return .damaged(reason: "\(error)", quarantinedAt: AtomicFile.quarantine(path))
            }
        case .leftover(let bytes):
            // A crash came between writing the temporary file and renaming it: use it when it is whole.
            do {
                let contents = try decode(bytes)
                try? AtomicFile.write(bytes, to: path)
                return .contents(contents)
            } catch {
                return .damaged(reason: "leftover temporary file: \(error)", quarantinedAt: AtomicFile.quarantine(path + ".tmp"))
            }
        }
    }

    func decode(_ bytes: [UInt8]) throws -> Contents {
        guard !bytes.isEmpty else { throw CheckpointCoding.Malformed(description: "the file is empty") }
        let document = try JSONReader.parse(bytes)
        guard case .int(let version)? = document["version"], version == 1 || version == 2,
              case .array(let files)? = document["files"] else {
            throw CheckpointCoding.Malformed(description: "not a version 1 or 2 checkpoint file")
        }
        var contents = Contents()
        if case .int(let journal)? = document["journal"], journal >= 0 { contents.journal = UInt64(journal) }
        for file in files {
            let entry = try CheckpointCoding.decode(file)
            contents.entries[entry.id] = entry
        }
        return contents
    }

    func encode(_ contents: Contents) -> [UInt8] {
        var writer = JSONWriter()
        writer.object { document in
            document.int("version", 2)
            document.int("journal", contents.journal)
            document("files") { list in
                list.array(contents.entries.values.sorted { $0.id < $1.id }) { writer, entry in
                    CheckpointCoding.encode(entry, into: &writer)
                }
            }
        }
        writer.output.append(UInt8(ascii: "\n"))
        return writer.bytes
    }

    func save(_ contents: Contents, reporting writes: DataWrites) throws(SystemError) {
        try AtomicFile.write(encode(contents), to: path, reporting: writes, as: .checkpoints)
    }
}
