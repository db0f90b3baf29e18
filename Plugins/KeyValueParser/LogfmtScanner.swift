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

    /// Calls `pair` for every pair in `text` (key and value borrowed for the call); returns how many there were.
    func scan(_ text: UnsafeRawBufferPointer, _ pair: (UnsafeRawBufferPointer, RawValue) -> Void) -> Int {
        var index = 0
        var count = 0
        let end = text.count
        var unescaped: [UInt8] = []
        while index < end {
            while index < end && isSeparator(text[index]) { index += 1 }
            guard index < end else { break }
            let keyStart = index
            while index < end && text[index] != valueSeparator && !isSeparator(text[index]) { index += 1 }
            let key = UnsafeRawBufferPointer(rebasing: text[keyStart..<index])
            let hasValue = index < end && text[index] == valueSeparator
            if hasValue { index += 1 }
            guard !key.isEmpty else {
                while index < end && !isSeparator(text[index]) { index += 1 }
                continue
            }
            count += 1
            if !hasValue {
                pair(key, .bool(true))
            } else if index < end && text[index] == UInt8(ascii: "\"") {
                if let plain = quoted(text, &index, into: &unescaped) {
                    pair(key, .text(plain))
                } else {
                    unescaped.withUnsafeBytes { pair(key, .text($0)) }
                }
            } else {
                let valueStart = index
                while index < end && !isSeparator(text[index]) { index += 1 }
                pair(key, .inferred(UnsafeRawBufferPointer(rebasing: text[valueStart..<index])))
            }
        }
        return count
    }

    /// Reads a quoted value starting at its opening quote and leaves `index` after the closing quote. Returns the
    /// text in place when it has no escapes; otherwise unescapes it into `unescaped` and returns nil.
    private func quoted(_ text: UnsafeRawBufferPointer, _ index: inout Int, into unescaped: inout [UInt8]) -> UnsafeRawBufferPointer? {
        index += 1
        let start = index
        while index < text.count && text[index] != UInt8(ascii: "\"") && text[index] != UInt8(ascii: "\\") { index += 1 }
        if index >= text.count || text[index] == UInt8(ascii: "\"") {
            defer { if index < text.count { index += 1 } }
            return UnsafeRawBufferPointer(rebasing: text[start..<index])
        }
        unescaped.removeAll(keepingCapacity: true)
        unescaped.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[start..<index]))
        while index < text.count {
            let byte = text[index]
            index += 1
            if byte == UInt8(ascii: "\"") { break }
            guard byte == UInt8(ascii: "\\"), index < text.count else {
                unescaped.append(byte)
                continue
            }
            let escaped = text[index]
            index += 1
            switch escaped {
            case UInt8(ascii: "n"): unescaped.append(0x0A)
            case UInt8(ascii: "t"): unescaped.append(0x09)
            case UInt8(ascii: "r"): unescaped.append(0x0D)
            case UInt8(ascii: "u") where index + 4 <= text.count:
                if let code = parseHex4(UnsafeRawBufferPointer(rebasing: text[index..<index + 4])), let scalar = Unicode.Scalar(code) {
                    unescaped.append(contentsOf: UTF8.encode(scalar)!)
                    index += 4
                } else {
                    unescaped.append(contentsOf: [UInt8(ascii: "\\"), escaped])
                }
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): unescaped.append(escaped)
            default: unescaped.append(contentsOf: [UInt8(ascii: "\\"), escaped])
            }
        }
        return nil
    }

    private func parseHex4(_ bytes: UnsafeRawBufferPointer) -> UInt32? {
        UInt32(String(decoding: bytes, as: UTF8.self), radix: 16)
    }
}
