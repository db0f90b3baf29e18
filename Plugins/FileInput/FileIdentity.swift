import TraceTailCore
#if canImport(Glibc)
import Glibc
#endif

/// Who a file is, whatever its path: the device and inode it lives on and a hash of its first bytes. Once the
/// file holds `fingerprint_bytes`, the hash alone names its content — it survives a copy, which is how a
/// copy-truncate rotation is recognised; before that, only the inode does (and the hash of what is there confirms
/// it after a restart, since inodes are reused).
struct FileIdentity: Hashable, Sendable {
    /// How sure the identity is of the content.
    enum Certainty: Sendable {
        /// The first `fingerprint_bytes` bytes were hashed: the same content anywhere is the same file.
        case fingerprint
        /// The file is shorter than that: it is known by device and inode until it grows.
        case inode
    }

    var device: UInt64
    var inode: UInt64
    /// How many first bytes `prefixHash` covers (at most `fingerprint_bytes`).
    var prefixLength: Int
    var prefixHash: UInt64
    var certainty: Certainty
    /// A distinct file with the same first bytes as one already read (a copy kept beside its original): known by
    /// fingerprint and inode together.
    var distinguished = false

    /// The identity of a file whose first bytes (read up to `fingerprintBytes`) are `prefix`.
    init(prefix: some Collection<UInt8>, device: UInt64, inode: UInt64, fingerprintBytes: Int) {
        self.device = device
        self.inode = inode
        prefixLength = prefix.count
        prefixHash = StableHash.hash(prefix, seed: 0)
        certainty = prefix.count >= fingerprintBytes ? .fingerprint : .inode
    }

    /// The identity as saved in checkpoints and carried by records (span ids are derived from it, so one content
    /// keeps its ids under any path): `fp:<hash>`, `fp:<hash>@<device>:<inode>` or `ino:<device>:<inode>`.
    var key: String {
        switch certainty {
        case .fingerprint:
            let hash = String(prefixHash, radix: 16)
            return distinguished ? "fp:\(hash)@\(device):\(inode)" : "fp:\(hash)"
        case .inode:
            return inodeKey
        }
    }

    /// The key the file had while it was shorter than a fingerprint: a file that grew past it while TraceTail was
    /// stopped is found under this key (confirmed by the first bytes it had then).
    var inodeKey: String { "ino:\(device):\(inode)" }

    /// Whether `prefix` (a file's first bytes now) starts with the bytes this identity hashed.
    func confirmed(by prefix: [UInt8]) -> Bool {
        prefix.count >= prefixLength && StableHash.hash(prefix.prefix(prefixLength), seed: 0) == prefixHash
    }

    /// Reads up to `count` first bytes of an open file; nil when it cannot be read.
    static func readPrefix(_ descriptor: Int32, count: Int) -> [UInt8]? {
        var prefix = [UInt8](repeating: 0, count: count)
        let read = prefix.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard read >= 0 else { return nil }
        prefix.removeLast(prefix.count - read)
        return prefix
    }

    /// Reads up to `count` first bytes of the file at `path`; nil when it cannot be opened or read.
    static func readPrefix(path: String, count: Int) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        return readPrefix(descriptor, count: count)
    }
}
