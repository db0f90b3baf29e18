/// A read-only hash table keyed by byte strings, looked up straight from a line's bytes: no `String` is made and no
/// SipHash run for the field names the mapper knows.
struct ByteKeyTable<Value: Sendable>: Sendable {
    private var keys: [[UInt8]?]
    private var values: [Value?]
    private let mask: Int

    init(_ entries: [(String, Value)]) {
        var size = 16
        while size < entries.count * 4 { size *= 2 }
        keys = Array(repeating: nil, count: size)
        values = Array(repeating: nil, count: size)
        mask = size - 1
        for (key, value) in entries {
            let bytes = Array(key.utf8)
            var slot = bytes.withUnsafeBytes { Self.hash($0) } & mask
            while let existing = keys[slot], existing != bytes { slot = (slot + 1) & mask }
            keys[slot] = bytes
            values[slot] = value
        }
    }

    /// FNV-1a, folded: enough to spread short field names.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return Int(truncatingIfNeeded: hash ^ (hash >> 29))
    }

    subscript(key: UnsafeRawBufferPointer) -> Value? {
        var slot = Self.hash(key) & mask
        while let candidate = keys[slot] {
            if candidate.count == key.count && (key.isEmpty || candidate.withUnsafeBytes({ memcmp($0.baseAddress!, key.baseAddress!, key.count) == 0 })) {
                return values[slot]
            }
            slot = (slot + 1) & mask
        }
        return nil
    }
}

#if canImport(Glibc)
import Glibc
#endif
