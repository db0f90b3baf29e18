/// Reads protobuf wire format field by field, without message objects: the counterpart of `ProtobufWriter`.
/// A nested message is read by a reader of its own over the same bytes (nothing is copied). Lengths are checked
/// against the enclosing message and wire types against what the caller expects, so malformed input throws
/// `ProtobufReader.Malformed` naming the offset.
public struct ProtobufReader {
    public struct Malformed: Error, CustomStringConvertible {
        public let offset: Int
        public let reason: String
        public var description: String { "\(reason) at byte \(offset)" }
    }

    /// A field's number and wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32).
    public struct Field {
        public let number: Int
        public let wireType: Int
    }

    /// The whole input, shared by the readers of nested messages.
    let storage: [UInt8]
    /// This message's bytes within `storage`.
    let range: Range<Int>
    var position: Int

    public init(_ bytes: [UInt8]) {
        self.init(bytes, range: 0..<bytes.count)
    }

    private init(_ storage: [UInt8], range: Range<Int>) {
        self.storage = storage
        self.range = range
        position = range.lowerBound
    }

    /// The message's encoded bytes.
    public var contents: ArraySlice<UInt8> { storage[range] }

    /// The next field's tag, or nil at the end of the message.
    public mutating func next() throws(Malformed) -> Field? {
        guard position < range.upperBound else { return nil }
        let start = position
        let tag = try readVarint()
        guard tag >> 3 != 0, tag >> 3 <= 0x1FFF_FFFF else { throw Malformed(offset: start, reason: "invalid field number") }
        return Field(number: Int(tag >> 3), wireType: Int(tag & 7))
    }

    /// A varint field's value (int32/64, uint32/64, bool, enum).
    public mutating func varint(_ field: Field) throws(Malformed) -> UInt64 {
        try expect(field, 0)
        return try readVarint()
    }

    /// A fixed64 or double field's bits.
    public mutating func fixed64(_ field: Field) throws(Malformed) -> UInt64 {
        try expect(field, 1)
        return try readFixed(8)
    }

    /// A length-delimited field's bytes.
    public mutating func bytes(_ field: Field) throws(Malformed) -> ArraySlice<UInt8> {
        try expect(field, 2)
        return storage[try readLength()]
    }

    public mutating func string(_ field: Field) throws(Malformed) -> String {
        String(decoding: try bytes(field), as: UTF8.self)
    }

    /// A nested message, read by a reader of its own.
    public mutating func message(_ field: Field) throws(Malformed) -> ProtobufReader {
        try expect(field, 2)
        return ProtobufReader(storage, range: try readLength())
    }

    /// Calls `body` with each occurrence of length-delimited field `number` (an embedded message; for bytes, its
    /// `contents`), in order, skipping every other field; reads from the start of the message, whatever was read.
    public func forEach(_ number: Int, _ body: (ProtobufReader) throws -> Void) throws {
        var fields = ProtobufReader(storage, range: range)
        while let field = try fields.next() {
            if field.number == number { try body(try fields.message(field)) } else { try fields.skip(field) }
        }
    }

    /// Skips a field's value, whatever its wire type.
    public mutating func skip(_ field: Field) throws(Malformed) {
        switch field.wireType {
        case 0: _ = try readVarint()
        case 1: _ = try readFixed(8)
        case 2: _ = try readLength()
        case 5: _ = try readFixed(4)
        default: throw Malformed(offset: position, reason: "unsupported wire type \(field.wireType) (field \(field.number))")
        }
    }

    private func expect(_ field: Field, _ wireType: Int) throws(Malformed) {
        guard field.wireType == wireType else {
            throw Malformed(offset: position, reason: "field \(field.number) has wire type \(field.wireType), expected \(wireType)")
        }
    }

    private mutating func readVarint() throws(Malformed) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        let start = position
        while position < range.upperBound, shift < 64 {
            let byte = storage[position]
            position += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        throw Malformed(offset: start, reason: shift < 64 ? "truncated varint" : "varint longer than 10 bytes")
    }

    private mutating func readFixed(_ size: Int) throws(Malformed) -> UInt64 {
        guard range.upperBound - position >= size else { throw Malformed(offset: position, reason: "truncated fixed\(size * 8)") }
        var value: UInt64 = 0
        for index in 0..<size { value |= UInt64(storage[position + index]) << (8 * index) }
        position += size
        return value
    }

    private mutating func readLength() throws(Malformed) -> Range<Int> {
        let start = position
        let length = try readVarint()
        guard length <= UInt64(range.upperBound - position) else {
            throw Malformed(offset: start, reason: "length \(length) runs past the end of its message")
        }
        let body = position..<position + Int(length)
        position = body.upperBound
        return body
    }
}
