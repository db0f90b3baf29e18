/// Writes JSON straight into a byte buffer, for outputs that build request bodies without intermediate values.
public struct JSONWriter: ~Copyable {
    public var output: OutputBuffer
    /// Inside an object: a member was written, so the next one needs a comma.
    private var afterMember = false

    public init(capacity: Int = 256) {
        output = OutputBuffer(capacity: capacity)
    }

    public init(output: consuming OutputBuffer) {
        self.output = output
    }

    /// The JSON written.
    public var bytes: [UInt8] { output.bytes }

    /// The JSON written, as text.
    public var text: String { output.text }

    @inline(__always)
    public mutating func raw(_ text: StaticString) { output.append(text) }

    /// Writes a quoted, escaped string: runs that need no escaping are copied whole.
    public mutating func string(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            output.append(UInt8(ascii: "\""))
            var runStart = 0
            // Eight bytes at a time while none needs escaping (most text), byte by byte from the first that may.
            var clean = 0
            if let base = utf8.baseAddress {
                while clean + 8 <= utf8.count, !mayNeedEscaping(UnsafeRawPointer(base + clean).loadUnaligned(as: UInt64.self)) {
                    clean += 8
                }
            }
            for index in clean..<utf8.count where utf8[index] < 0x20 || utf8[index] == 0x22 || utf8[index] == 0x5C {
                output.append(UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                runStart = index + 1
                switch utf8[index] {
                case 0x22: raw("\\\"")
                case 0x5C: raw("\\\\")
                case 0x0A: raw("\\n")
                case 0x0D: raw("\\r")
                case 0x09: raw("\\t")
                default:
                    raw("\\u00")
                    output.append(hexDigit(utf8[index] >> 4))
                    output.append(hexDigit(utf8[index] & 0xF))
                }
            }
            output.append(UnsafeBufferPointer(rebasing: utf8[runStart...]))
            output.append(UInt8(ascii: "\""))
        }
    }

    public mutating func int(_ value: some BinaryInteger) {
        guard let number = Int64(exactly: value) else { return output.append(String(value)) }
        if number < 0 { output.append(UInt8(ascii: "-")) }
        unquoted(number.magnitude)
    }

    /// Writes a finite double in its shortest round-trip form; NaN and infinities become `null`.
    public mutating func double(_ value: Double) {
        guard value.isFinite else { return raw("null") }
        if value == value.rounded(), abs(value) < 1e15 {
            int(Int64(value))
        } else {
            output.append(value.description)
        }
    }

    public mutating func bool(_ value: Bool) {
        value ? raw("true") : raw("false")
    }

    /// Writes an object; `body` writes its members with the member methods (`member`, or `string(_:_:)`, …).
    public mutating func object(_ body: (inout JSONWriter) -> Void) {
        enclosed(UInt8(ascii: "{"), UInt8(ascii: "}"), body)
    }

    /// `body`'s members or elements between `open` and `close`, with comma tracking of their own.
    private mutating func enclosed(_ open: UInt8, _ close: UInt8, _ body: (inout JSONWriter) -> Void) {
        output.append(open)
        let outer = afterMember
        afterMember = false
        body(&self)
        afterMember = outer
        output.append(close)
    }

    /// Writes an object member whose value `body` writes.
    public mutating func callAsFunction(_ name: String, _ body: (inout JSONWriter) -> Void) {
        if afterMember { output.append(UInt8(ascii: ",")) }
        string(name)
        output.append(UInt8(ascii: ":"))
        body(&self)
        afterMember = true
    }

    /// An object member whose name needs no escaping (a literal): written as it is, without a scan.
    public mutating func member(_ name: StaticString, _ body: (inout JSONWriter) -> Void) {
        if afterMember { output.append(UInt8(ascii: ",")) }
        output.append(UInt8(ascii: "\""))
        raw(name)
        raw("\":")
        body(&self)
        afterMember = true
    }

    /// Writes lowercase hex digits of 64-bit words as one JSON string (trace and span ids), with no `String`.
    public mutating func hexString(_ words: UInt64...) {
        output.write(atMost: 2 + 16 * words.count) { target in
            target[0] = UInt8(ascii: "\"")
            var position = 1
            for word in words {
                for shift in stride(from: 56, through: 0, by: -8) { // a byte's two digits at a time
                    let byte = UInt8(truncatingIfNeeded: word >> UInt64(shift))
                    target[position] = hexDigit(byte >> 4)
                    target[position + 1] = hexDigit(byte & 0xF)
                    position += 2
                }
            }
            target[position] = UInt8(ascii: "\"")
            return position + 1
        }
    }

    /// Writes an integer as a JSON string (OTLP/JSON's 64-bit integers), with no `String`.
    public mutating func quoted(_ value: UInt64) {
        output.append(UInt8(ascii: "\""))
        unquoted(value)
        output.append(UInt8(ascii: "\""))
    }

    /// Decimal digits, written back to front into room kept for them.
    mutating func unquoted(_ value: UInt64) {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        output.write(atMost: digits) { target in
            var rest = value
            var position = digits
            while position >= 2 { // two digits at a time
                let pair = UInt8(truncatingIfNeeded: rest % 100)
                rest /= 100
                target[position - 1] = UInt8(ascii: "0") + pair % 10
                target[position - 2] = UInt8(ascii: "0") + pair / 10
                position -= 2
            }
            if position == 1 { target[0] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest) }
            return digits
        }
    }

    public mutating func string(_ name: String, _ value: String) { self(name) { $0.string(value) } }
    public mutating func int(_ name: String, _ value: some BinaryInteger) { self(name) { $0.int(value) } }
    public mutating func double(_ name: String, _ value: Double) { self(name) { $0.double(value) } }
    public mutating func bool(_ name: String, _ value: Bool) { self(name) { $0.bool(value) } }
    public mutating func value(_ name: String, _ value: JSONValue) { self(name) { $0.value(value) } }

    /// Writes an array of `items`, each written by `element`.
    public mutating func array<S: Sequence>(_ items: S, _ element: (inout JSONWriter, S.Element) -> Void) {
        array { list in
            for item in items { list.element { element(&$0, item) } }
        }
    }

    /// Writes an array whose elements `body` adds one at a time with `element` (for items that are visited, not
    /// held in a collection).
    public mutating func array(_ body: (inout JSONWriter) -> Void) {
        enclosed(UInt8(ascii: "["), UInt8(ascii: "]"), body)
    }

    /// Writes one element of an `array(_:)`.
    public mutating func element(_ body: (inout JSONWriter) -> Void) {
        if afterMember { output.append(UInt8(ascii: ",")) }
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

/// A nibble's lowercase hex digit (arithmetic, not a table: a global table costs a `swift_once` per use).
@inline(__always)
private func hexDigit(_ nibble: UInt8) -> UInt8 {
    nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") - 10 + nibble
}

/// Whether any of eight bytes is a control character, a quote or a backslash (bit tricks on the whole word:
/// a zero byte of `word ^ repeated(c)` is a byte equal to `c`; a byte below 0x20 borrows when 0x20 is subtracted).
@inline(__always)
private func mayNeedEscaping(_ word: UInt64) -> Bool {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    let quotes = word ^ (ones &* 0x22)
    let backslashes = word ^ (ones &* 0x5C)
    let below = (word &- ones &* 0x20) & ~word
    let zeroQuote = (quotes &- ones) & ~quotes
    let zeroBackslash = (backslashes &- ones) & ~backslashes
    return (below | zeroQuote | zeroBackslash) & highs != 0
}
