/// Writes JSON straight into a byte buffer, for outputs that build request bodies without intermediate values.
public struct JSONWriter: Sendable {
    public var bytes: [UInt8]
    /// Inside an object: a member was written, so the next one needs a comma.
    private var afterMember = false

    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func raw(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Writes a quoted, escaped string.
    public mutating func string(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            bytes.append(UInt8(ascii: "\""))
            var runStart = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == 0x22 || byte == 0x5C else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                runStart = index + 1
                switch byte {
                case 0x22: raw("\\\"")
                case 0x5C: raw("\\\\")
                case 0x0A: raw("\\n")
                case 0x0D: raw("\\r")
                case 0x09: raw("\\t")
                default:
                    raw("\\u00")
                    bytes.append(hexDigit(byte >> 4))
                    bytes.append(hexDigit(byte & 0xF))
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
            bytes.append(UInt8(ascii: "\""))
        }
    }

    public mutating func int(_ value: some BinaryInteger) {
        bytes.append(contentsOf: String(value).utf8)
    }

    /// Writes a finite double in its shortest round-trip form; NaN and infinities become `null`.
    public mutating func double(_ value: Double) {
        guard value.isFinite else { return raw("null") }
        if value == value.rounded(), abs(value) < 1e15 {
            int(Int64(value))
        } else {
            bytes.append(contentsOf: value.description.utf8)
        }
    }

    public mutating func bool(_ value: Bool) {
        value ? raw("true") : raw("false")
    }

    /// Writes an object; `body` writes its members with the member methods (`member`, or `string(_:_:)`, …).
    public mutating func object(_ body: (inout JSONWriter) -> Void) {
        bytes.append(UInt8(ascii: "{"))
        let outer = afterMember
        afterMember = false
        body(&self)
        afterMember = outer
        bytes.append(UInt8(ascii: "}"))
    }

    /// Writes an object member whose value `body` writes.
    public mutating func callAsFunction(_ name: String, _ body: (inout JSONWriter) -> Void) {
        if afterMember { bytes.append(UInt8(ascii: ",")) }
        string(name)
        bytes.append(UInt8(ascii: ":"))
        body(&self)
        afterMember = true
    }

    /// An object member whose name needs no escaping (a literal): written as it is, without a scan.
    public mutating func member(_ name: StaticString, _ body: (inout JSONWriter) -> Void) {
        if afterMember { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        raw(name)
        raw("\":")
        body(&self)
        afterMember = true
    }

    /// Writes lowercase hex digits of 64-bit words as one JSON string (trace and span ids), with no `String`.
    public mutating func hexString(_ words: UInt64...) {
        bytes.append(UInt8(ascii: "\""))
        for word in words {
            for shift in stride(from: 60, through: 0, by: -4) { bytes.append(hexDigit(UInt8((word >> UInt64(shift)) & 0xF))) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Writes an integer as a JSON string (OTLP/JSON's 64-bit integers), with no `String`.
    public mutating func quoted(_ value: UInt64) {
        bytes.append(UInt8(ascii: "\""))
        unquoted(value)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func unquoted(_ value: UInt64) {
        guard value >= 10 else { return bytes.append(UInt8(ascii: "0") + UInt8(value)) }
        unquoted(value / 10)
        bytes.append(UInt8(ascii: "0") + UInt8(value % 10))
    }

    public mutating func string(_ name: String, _ value: String) { self(name) { $0.string(value) } }
    public mutating func int(_ name: String, _ value: some BinaryInteger) { self(name) { $0.int(value) } }
    public mutating func double(_ name: String, _ value: Double) { self(name) { $0.double(value) } }
    public mutating func bool(_ name: String, _ value: Bool) { self(name) { $0.bool(value) } }
    public mutating func value(_ name: String, _ value: JSONValue) { self(name) { $0.value(value) } }

    /// Writes an array of `items`, each written by `element`.
    public mutating func array<S: Sequence>(_ items: S, _ element: (inout JSONWriter, S.Element) -> Void) {
        bytes.append(UInt8(ascii: "["))
        let outer = afterMember
        var first = true
        for item in items {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            element(&self, item)
        }
        afterMember = outer
        bytes.append(UInt8(ascii: "]"))
    }

    /// Writes an array whose elements `body` adds one at a time with `element` (for items that are visited, not
    /// held in a collection).
    public mutating func array(_ body: (inout JSONWriter) -> Void) {
        bytes.append(UInt8(ascii: "["))
        let outer = afterMember
        afterMember = false
        body(&self)
        afterMember = outer
        bytes.append(UInt8(ascii: "]"))
    }

    /// Writes one element of an `array(_:)`.
    public mutating func element(_ body: (inout JSONWriter) -> Void) {
        if afterMember { bytes.append(UInt8(ascii: ",")) }
        body(&self)
        afterMember = true
    }

    /// Writes any JSON value.
    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: raw("null")
        case .bool(let flag): bool(flag)
        case .int(let number): int(number)
        case .double(let number): double(number)
        case .string(let text): string(text)
        case .array(let items): array(items) { $0.value($1) }
        case .object(let entries): object { members in
            for entry in entries { members.value(entry.key, entry.value) }
        }
        }
    }

}

private func hexDigit(_ nibble: UInt8) -> UInt8 {
    nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
}
