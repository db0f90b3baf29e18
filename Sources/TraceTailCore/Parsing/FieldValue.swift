#if canImport(Glibc)
import Glibc
#endif

/// A value a parser extracted from a log line, before mapping gives it its place and type.
public enum FieldValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    /// JSON text of an array or of an object kept whole.
    case json(String)

    /// The value as text, for fields that want a string.
    public var text: String? {
        switch self {
        case .null: return nil
        case .bool(let flag): return flag ? "true" : "false"
        case .int(let number): return String(number)
        case .double(let number): return String(number)
        case .string(let text), .json(let text): return text
        }
    }
}

/// A field's value as a parser found it, borrowed from the line being parsed: valid only during the call that
/// hands it over, so that the mapper can turn it into ids, times and numbers without making strings first.
public enum RawValue {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    /// A string, unescaped UTF-8.
    case text(UnsafeRawBufferPointer)
    /// Bare text to be typed like logfmt and regex values: integers, decimals and booleans become numbers and
    /// booleans, anything else a string.
    case inferred(UnsafeRawBufferPointer)
    /// JSON text of an array or of an object kept whole.
    case json(UnsafeRawBufferPointer)

    /// The value, owned.
    public func materialized() -> FieldValue {
        switch self {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .int(let number): return .int(number)
        case .double(let number): return .double(number)
        case .text(let bytes): return .string(String(decoding: bytes, as: UTF8.self))
        case .inferred(let bytes):
            if let number = ByteNumbers.integer(bytes) { return .int(number) }
            if let number = ByteNumbers.decimal(bytes) { return .double(number) }
            if ByteNumbers.equals(bytes, "true") { return .bool(true) }
            if ByteNumbers.equals(bytes, "false") { return .bool(false) }
            return .string(String(decoding: bytes, as: UTF8.self))
        case .json(let bytes): return .json(String(decoding: bytes, as: UTF8.self))
        }
    }

    var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The text of a string-like value.
    var bytes: UnsafeRawBufferPointer? {
        switch self {
        case .text(let bytes), .inferred(let bytes): return bytes
        default: return nil
        }
    }
}

extension FieldValue {
    /// Lends the value as a `RawValue` for the duration of `body`.
    public func withRawValue<R>(_ body: (RawValue) throws -> R) rethrows -> R {
        switch self {
        case .null: return try body(.null)
        case .bool(let flag): return try body(.bool(flag))
        case .int(let number): return try body(.int(number))
        case .double(let number): return try body(.double(number))
        case .string(var text): return try text.withUTF8 { try body(.text(UnsafeRawBufferPointer($0))) }
        case .json(var text): return try text.withUTF8 { try body(.json(UnsafeRawBufferPointer($0))) }
        }
    }
}

extension UnsafeRawBufferPointer {
    /// The bytes after a leading UTF-8 byte-order mark (`EF BB BF`, which Windows editors and .NET loggers put at
    /// the start of a file, so it arrives with the first line); parsers skip it.
    public var droppingByteOrderMark: UnsafeRawBufferPointer {
        guard count >= 3, self[0] == 0xEF, self[1] == 0xBB, self[2] == 0xBF else { return self }
        return UnsafeRawBufferPointer(rebasing: self[3...])
    }
}

/// Numbers read straight from bytes.
enum ByteNumbers {
    /// A decimal integer (optional `-`), or nil.
    static func integer(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var index = 0
        let negative = bytes.first == UInt8(ascii: "-")
        if negative { index = 1 }
        guard index < bytes.count, bytes.count - index <= 19 else { return nil }
        var value: Int64 = 0 // kept negative while reading, so that Int64.min fits
        while index < bytes.count {
            let digit = Int64(bytes[index]) - 48
            guard digit >= 0 && digit <= 9 else { return nil }
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times.subtractingReportingOverflow(digit)
            guard !overflow && !carry else { return nil }
            value = sum
            index += 1
        }
        if negative { return value }
        return value == .min ? nil : -value
    }

    /// A finite decimal number with a fraction or an exponent, or nil. An integer too large for `integer` is no
    /// decimal: read as a double it would lose digits, so it stays text.
    static func decimal(_ bytes: UnsafeRawBufferPointer) -> Double? {
        guard bytes.contains(where: { $0 == UInt8(ascii: ".") || $0 | 0x20 == UInt8(ascii: "e") }),
              let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: ".") || (first &- 48) < 10,
              bytes.allSatisfy({ ($0 &- 48) < 10 || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
                    || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }),
              let value = Double(String(decoding: bytes, as: UTF8.self)), value.isFinite else { return nil }
        return value
    }

    static func equals(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        bytes.count == text.utf8CodeUnitCount && (bytes.isEmpty || memcmp(bytes.baseAddress!, text.utf8Start, bytes.count) == 0)
    }
}
