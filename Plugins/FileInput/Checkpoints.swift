import TraceTailCore

/// Where reading of one file stands, as saved in the pipeline's data directory.
struct Checkpoint: Equatable {
    /// The file's identity: `fp:<hash>` of its first bytes, or `ino:<device>:<inode>` while it is shorter than that.
    var id: String
    var path: String
    /// Every byte before this offset was delivered (acknowledged).
    var offset: UInt64
    /// How many first bytes `prefixHash` covers, to confirm an `ino:` identity after a restart.
    var prefixLength: Int
    var prefixHash: UInt64
    /// When this entry last changed, in nanoseconds since the epoch; old entries of vanished files are pruned.
    var updated: UInt64
}

/// Reads and writes the checkpoint file: atomically, recovering a leftover temporary file, and reporting (never
/// crashing on) a damaged one.
struct CheckpointFile {
    let path: String

    enum Loaded {
        case entries([String: Checkpoint])
        /// The file was damaged; it was moved aside to `quarantinedAt`.
        case damaged(reason: String, quarantinedAt: String)
    }

    func load() -> Loaded {
        switch AtomicFile.read(path) {
        case .missing:
            return .entries([:])
        case .found(let bytes):
            do {
                return .entries(try decode(bytes))
            } catch {
                return .damaged(reason: "\(error)", quarantinedAt: AtomicFile.quarantine(path))
            }
        case .leftover(let bytes):
            // A crash came between writing the temporary file and renaming it: use it when it is whole.
            do {
                let entries = try decode(bytes)
                try? AtomicFile.write(bytes, to: path)
                return .entries(entries)
            } catch {
                return .damaged(reason: "leftover temporary file: \(error)", quarantinedAt: AtomicFile.quarantine(path + ".tmp"))
            }
        }
    }

    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    func decode(_ bytes: [UInt8]) throws -> [String: Checkpoint] {
        guard !bytes.isEmpty else { throw Malformed(description: "the file is empty") }
        let document = try JSONReader.parse(bytes)
        guard document["version"] == .int(1), case .array(let files)? = document["files"] else {
            throw Malformed(description: "not a version 1 checkpoint file")
        }
        var entries: [String: Checkpoint] = [:]
        for file in files {
            guard case .string(let id)? = file["id"], case .string(let path)? = file["path"],
                  case .int(let offset)? = file["offset"], offset >= 0,
                  case .int(let prefixLength)? = file["prefix_length"], case .string(let hash)? = file["prefix_hash"],
                  let prefixHash = UInt64(hash, radix: 16), case .int(let updated)? = file["updated"] else {
                throw Malformed(description: "an entry lacks id, path, offset, prefix_length, prefix_hash or updated")
            }
            entries[id] = Checkpoint(id: id, path: path, offset: UInt64(offset), prefixLength: Int(prefixLength),
                                     prefixHash: prefixHash, updated: UInt64(updated))
        }
        return entries
    }

    func encode(_ entries: [String: Checkpoint]) -> [UInt8] {
        var writer = JSONWriter()
        writer.object { document in
            document.int("version", 1)
            document("files") { list in
                list.array(entries.values.sorted { $0.id < $1.id }) { writer, entry in
                    writer.object { file in
                        file.string("id", entry.id)
                        file.string("path", entry.path)
                        file.int("offset", entry.offset)
                        file.int("prefix_length", entry.prefixLength)
                        file.string("prefix_hash", String(entry.prefixHash, radix: 16))
                        file.int("updated", entry.updated)
                    }
                }
            }
        }
        writer.output.append(UInt8(ascii: "\n"))
        return writer.bytes
    }

    func save(_ entries: [String: Checkpoint]) throws {
        try AtomicFile.write(encode(entries), to: path)
    }
}
