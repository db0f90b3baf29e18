import TraceTailCore

/// A byte-level logfmt scanner: `key=value key="quoted \"value\"" flag`.
///
/// Bare values run to the next pair separator (so `a=b=c` gives `a` = `b=c`) and are typed (numbers, booleans);
/// quoted values are strings with `\"`, `\\`, `\n`, `\t`, `\r` and `\uXXXX` escapes; a key without a value is `true`.
struct LogfmtScanner {
    let pairSeparator: UInt8
    let valueSeparator: UInt8

    private func isSeparator(_ byte: UInt8) -> Bool {
        byte == pairSeparator || (pairSeparator == UInt8(ascii: " ") && (byte == 0x09 || byte == 0x0D || byte == 0x0A))
    }

    /// Calls `pair` for every pair in `text`; returns how many there were.
    func scan(_ text: UnsafeRawBufferPointer, _ pair: (String, FieldValue) -> Void) -> Int {
        var index = 0
        var count = 0
        let end = text.count
        while index < end {
            while index < end && isSeparator(text[index]) { index += 1 }
            guard index < end else { break }
            let keyStart = index
            while index < end && text[index] != valueSeparator && !isSeparator(text[index]) { index += 1 }
            let key = String(decoding: UnsafeRawBufferPointer(rebasing: text[keyStart..<index]), as: UTF8.self)
            let value: FieldValue
            if index < end && text[index] == valueSeparator {
                index += 1
                if index < end && text[index] == UInt8(ascii: "\"") {
                    value = .string(quoted(text, &index))
                } else {
                    let valueStart = index
                    while index < end && !isSeparator(text[index]) { index += 1 }
                    value = .inferred(String(decoding: UnsafeRawBufferPointer(rebasing: text[valueStart..<index]), as: UTF8.self))
                }
            } else {
                value = .bool(true)
            }
            guard !key.isEmpty else { continue }
            pair(key, value)
            count += 1
        }
        return count
    }

    /// Reads a quoted value starting at its opening quote; leaves `index` after the closing quote.
    private func quoted(_ text: UnsafeRawBufferPointer, _ index: inout Int) -> String {
        index += 1
        let start = index
        while index < text.count && text[index] != UInt8(ascii: "\"") && text[index] != UInt8(ascii: "\\") { index += 1 }
        if index < text.count && text[index] == UInt8(ascii: "\"") {
            defer { index += 1 }
            return String(decoding: UnsafeRawBufferPointer(rebasing: text[start..<index]), as: UTF8.self)
        }
        var bytes = Array(UnsafeRawBufferPointer(rebasing: text[start..<index]))
        while index < text.count {
            let byte = text[index]
            index += 1
            if byte == UInt8(ascii: "\"") { break }
            guard byte == UInt8(ascii: "\\"), index < text.count else {
                bytes.append(byte)
                continue
            }
            let escaped = text[index]
            index += 1
            switch escaped {
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "u") where index + 4 <= text.count:
                let hex = String(decoding: UnsafeRawBufferPointer(rebasing: text[index..<index + 4]), as: UTF8.self)
                if let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) {
                    bytes.append(contentsOf: String(Character(scalar)).utf8)
                    index += 4
                } else {
                    bytes.append(contentsOf: [UInt8(ascii: "\\"), escaped])
                }
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(escaped)
            default: bytes.append(contentsOf: [UInt8(ascii: "\\"), escaped])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
