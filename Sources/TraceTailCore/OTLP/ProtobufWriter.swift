/// Writes protobuf wire format straight into one buffer: no message objects, one buffer per request. Nested
/// messages get minimal length prefixes: room for one is kept before the body and widened afterwards if needed.
public struct ProtobufWriter: ~Copyable {
    public var output: OutputBuffer

    public init(capacity: Int = 256) {
        output = OutputBuffer(capacity: capacity)
    }

    public init(output: consuming OutputBuffer) {
        self.output = output
    }

    @inline(__always)
    mutating func varint(_ value: UInt64) { output.varint(value) }

    @inline(__always)
    mutating func tag(_ field: Int, _ wireType: Int) { output.varint(UInt64(field << 3 | wireType)) }

    /// A varint field (int64, uint32, bool and enum values); zero is left out, as proto3 does.
    mutating func varint(_ field: Int, _ value: UInt64) {
        guard value != 0 else { return }
        tag(field, 0)
        output.varint(value)
    }

    mutating func fixed64(_ field: Int, _ value: UInt64) {
        tag(field, 1)
        output.fixed(value)
    }

    /// A string field; empty is left out.
    mutating func string(_ field: Int, _ text: String) {
        guard !text.isEmpty else { return }
        var text = text
        text.withUTF8 { utf8 in
            tag(field, 2)
            output.varint(UInt64(utf8.count))
            output.append(utf8)
        }
    }

    /// A bytes field holding big-endian 64-bit words: a span id (one), a trace id (two).
    mutating func words(_ field: Int, _ first: UInt64, _ second: UInt64? = nil) {
        tag(field, 2)
        output.varint(second == nil ? 8 : 16)
        output.fixed(first, bigEndian: true)
        if let second { output.fixed(second, bigEndian: true) }
    }

    /// An embedded message whose body is `length` bytes long: the prefix is written exactly, nothing is moved.
    mutating func message(_ field: Int, length: Int, _ body: (inout ProtobufWriter) -> Void) {
        tag(field, 2)
        output.varint(UInt64(length))
        body(&self)
    }

    /// The size of a varint.
    static func varintSize(_ value: UInt64) -> Int {
        (64 - (value | 1).leadingZeroBitCount + 6) / 7
    }

    /// The size of a length-delimited field's prefix and body (tags below 16 take one byte).
    static func delimitedSize(_ length: Int) -> Int {
        1 + varintSize(UInt64(length)) + length
    }

    /// An embedded message; `expected` is the length prefix's likely size in bytes (1 below 128 bytes of body,
    /// 2 below 16 KiB, 3 below 2 MiB).
    mutating func message(_ field: Int, expected: Int = 1, _ body: (inout ProtobufWriter) -> Void) {
        tag(field, 2)
        let prefix = output.count
        for _ in 0..<expected { output.append(0) }
        body(&self)
        let length = output.count - prefix - expected
        var needed = 1
        while length >> (7 * needed) != 0 { needed += 1 }
        if needed != expected { output.move(from: prefix + expected, by: needed - expected) }
        var value = length
        for index in 0..<needed {
            output[prefix + index] = UInt8(truncatingIfNeeded: value) | (index < needed - 1 ? 0x80 : 0)
            value >>= 7
        }
    }
}
