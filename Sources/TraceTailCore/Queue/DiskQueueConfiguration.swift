/// A disk queue as YAML declares it: `{ max_bytes: 256MiB, fsync: always }`.
public struct DiskQueueConfiguration: Sendable, Decodable {
    public var maxBytes = ByteSize.mebibytes(256)
    public var fsync = DiskQueue.Fsync.always

    enum CodingKeys: String, CodingKey {
        case maxBytes = "max_bytes"
        case fsync
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try container.decode(.maxBytes, into: &maxBytes)
        try container.decode(.fsync, into: &fsync)
        guard maxBytes.bytes >= 1 << 16 else {
            throw ConfigValueError("max_bytes must be at least 64KiB", codingPath: container.codingPath + [CodingKeys.maxBytes])
        }
    }

    public var settings: DiskQueue.Settings { DiskQueue.Settings(maxBytes: maxBytes.bytes, fsync: fsync) }
}

/// Where an input or output keeps what it holds: `buffer: memory` (the default) or `buffer: disk`, or
/// `buffer: { type: disk, max_bytes: 1GiB, fsync: always }`. On disk, an endpoint outage longer than memory
/// allows, or a restart, loses nothing.
public struct BufferConfiguration: Sendable, Decodable {
    public enum Kind: String, ConfigChoice { case memory, disk }

    public var kind = Kind.memory
    public var disk = DiskQueueConfiguration()

    /// The option as `tracetail plugins` lists it.
    public static let option = PluginOption(
        "buffer", "memory | disk | mapping", default: "memory",
        "disk: keep batches in a disk queue (`{ type: disk, max_bytes: 256MiB, fsync: always | never }`), so that an outage or a restart loses nothing.")

    enum CodingKeys: String, CodingKey {
        case type
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        if let node = (decoder as? NodeDecoder)?.node, node.scalar != nil {
            kind = try decoder.singleValueContainer().decode(Kind.self)
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try container.decode(.type, into: &kind)
        disk = try DiskQueueConfiguration(from: decoder)
    }

    /// The disk queue, when buffering on disk.
    public var diskQueue: DiskQueueConfiguration? { kind == .disk ? disk : nil }
}
