/// Writes protobuf wire format straight into a byte buffer: no message objects, one buffer per request. Nested
/// messages get minimal length prefixes: room for one is kept before the body and widened afterwards if needed.
public struct ProtobufWriter: Sendable {
    public var bytes: [UInt8]

    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inline(__always)
    mutating func varint(_ value: UInt64) {
        if value < 0x80 { return bytes.append(UInt8(value)) }
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func tag(_ field: Int, _ wireType: Int) { varint(UInt64(field << 3 | wireType)) }

    /// A varint field (int64, uint32, bool and enum values); zero is left out, as proto3 does.
    mutating func varint(_ field: Int, _ value: UInt64) {
        guard value != 0 else { return }
        tag(field, 0)
        varint(value)
    }

    mutating func fixed64(_ field: Int, _ value: UInt64) {
        tag(field, 1)
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// A string field; empty is left out.
    mutating func string(_ field: Int, _ text: String) {
        guard !text.isEmpty else { return }
        var text = text
        text.withUTF8 { utf8 in
            tag(field, 2)
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// A bytes field holding big-endian 64-bit words: a span id (one), a trace id (two).
    mutating func words(_ field: Int, _ first: UInt64, _ second: UInt64? = nil) {
        tag(field, 2)
        varint(second == nil ? 8 : 16)
        withUnsafeBytes(of: first.bigEndian) { bytes.append(contentsOf: $0) }
        if let second { withUnsafeBytes(of: second.bigEndian) { bytes.append(contentsOf: $0) } }
    }

    /// An embedded message; `expected` is the length prefix's likely size in bytes (1 below 128 bytes of body,
    /// 2 below 16 KiB, 3 below 2 MiB).
    mutating func message(_ field: Int, expected: Int = 1, _ body: (inout ProtobufWriter) -> Void) {
        tag(field, 2)
        let prefix = bytes.count
        for _ in 0..<expected { bytes.append(0) }
        body(&self)
        let length = bytes.count - prefix - expected
        var needed = 1
        while length >> (7 * needed) != 0 { needed += 1 }
        if needed != expected {
            bytes.replaceSubrange(prefix..<prefix + expected, with: repeatElement(0, count: needed))
        }
        var value = length
        for index in 0..<needed {
            bytes[prefix + index] = UInt8(truncatingIfNeeded: value) | (index < needed - 1 ? 0x80 : 0)
            value >>= 7
        }
    }
}
