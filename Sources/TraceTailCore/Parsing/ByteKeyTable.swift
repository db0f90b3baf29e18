/// A read-only hash table keyed by byte strings, looked up straight from a line's bytes: no `String` is made, no
/// SipHash run and no reference counted for the field names the mapper knows. Keys live back to back in one
/// buffer; a slot holds where its key is and the index of its value.
struct ByteKeyTable<Value: Sendable>: Sendable {
    private struct Slot {
        var start: Int32 = -1
        var length: Int32 = 0
        var value: Int32 = 0
    }

    private let keys: [UInt8]
    private let slots: [Slot]
    private let values: [Value]
    private let mask: Int

    init(_ entries: [(String, Value)]) {
        var size = 16
        while size < entries.count * 4 { size *= 2 }
        var keys: [UInt8] = []
        var slots = [Slot](repeating: Slot(), count: size)
        var values: [Value] = []
        for (key, value) in entries {
            let bytes = Array(key.utf8)
            var slot = bytes.withUnsafeBytes { Self.hash($0) } & (size - 1)
            while slots[slot].start >= 0 { slot = (slot + 1) & (size - 1) }
            slots[slot] = Slot(start: Int32(keys.count), length: Int32(bytes.count), value: Int32(values.count))
            keys += bytes
            values.append(value)
        }
        self.keys = keys
        self.slots = slots
        self.values = values
        mask = size - 1
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
            for index in bytes.indices { head |= UInt64(bytes[index]) << UInt64(8 * index) } // no memcpy call for "ts"
        }
        var hash = (head ^ UInt64(bytes.count) &* 0x9E37_79B9_7F4A_7C15) &* 0xBF58_476D_1CE4_E5B9
        hash ^= (tail &* 0x94D0_49BB_1331_11EB)
        return Int(truncatingIfNeeded: hash ^ (hash >> 31))
    }

    /// Two byte strings of the same length compared in 8-byte words (field names are short: no `memcmp` call).
    @inline(__always)
    static func equal(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset + 8 <= lhs.count {
            if lhs.loadUnaligned(fromByteOffset: offset, as: UInt64.self) != rhs.loadUnaligned(fromByteOffset: offset, as: UInt64.self) {
                return false
            }
            offset += 8
        }
        while offset < lhs.count {
            if lhs[offset] != rhs[offset] { return false }
            offset += 1
        }
        return true
    }

    subscript(key: UnsafeRawBufferPointer) -> Value? {
        slots.withUnsafeBufferPointer { slots in
            keys.withUnsafeBytes { keys in
                var index = Self.hash(key) & mask
                while slots[index].start >= 0 {
                    let slot = slots[index]
                    if Int(slot.length) == key.count
                        && Self.equal(UnsafeRawBufferPointer(rebasing: keys[Int(slot.start)..<Int(slot.start) + key.count]), key) {
                        return values[Int(slot.value)]
                    }
                    index = (index + 1) & mask
                }
                return nil
            }
        }
    }
}
