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

    /// The length and the first and last eight bytes, mixed: enough to tell field names apart, in a few
    /// instructions whatever the name's length.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> Int {
        var head: UInt64 = 0
        var tail: UInt64 = 0
        if bytes.count >= 8 {
            head = bytes.loadUnaligned(as: UInt64.self)
            tail = bytes.loadUnaligned(fromByteOffset: bytes.count - 8, as: UInt64.self)
        } else {
            for (index, byte) in bytes.enumerated() { head |= UInt64(byte) << (8 * UInt64(index)) }
        }
        var hash = (head ^ UInt64(bytes.count) &* 0x9E37_79B9_7F4A_7C15) &* 0xBF58_476D_1CE4_E5B9
        hash ^= (tail &* 0x94D0_49BB_1331_11EB)
        return Int(truncatingIfNeeded: hash ^ (hash >> 31))
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
