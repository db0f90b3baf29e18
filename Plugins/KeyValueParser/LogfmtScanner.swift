import TraceTailCore

/// A byte-level logfmt scanner: `key=value key="quoted \"value\"" flag`.
///
/// Bare values run to the next pair separator (so `a=b=c` gives `a` = `b=c`) and are typed (numbers, booleans);
/// quoted values are strings with `\"`, `\\`, `\n`, `\t`, `\r` and `\uXXXX` escapes; a key without a value is `true`.
struct LogfmtScanner: Sendable {
    let valueSeparator: UInt8
    /// Each byte's class: `separator` bits for pair separators, `endsKey` for what ends a key.
    private let classes: [UInt8]
    private static let separator: UInt8 = 1
    private static let endsKey: UInt8 = 2

    init(pairSeparator: UInt8, valueSeparator: UInt8) {
        self.valueSeparator = valueSeparator
        var classes = [UInt8](repeating: 0, count: 256)
        let separators = pairSeparator == UInt8(ascii: " ") ? [pairSeparator, 0x09, 0x0D, 0x0A] : [pairSeparator]
        for byte in separators { classes[Int(byte)] = Self.separator | Self.endsKey }
        classes[Int(valueSeparator)] |= Self.endsKey
        self.classes = classes
    }

    /// Calls `pair` for every pair in `text` (key and value borrowed for the call); returns how many there were.
    @discardableResult
    func scan(_ text: UnsafeRawBufferPointer, _ pair: (UnsafeRawBufferPointer, RawValue) -> Void) -> Int {
        classes.withUnsafeBufferPointer { classes in
            var index = 0
            var count = 0
            let end = text.count
            var unescaped: [UInt8] = []
            func runs(while wanted: UInt8, _ index: inout Int) {
                while index < end && classes[Int(text[index])] & wanted == 0 { index += 1 }
            }
            while index < end {
                while index < end && classes[Int(text[index])] & Self.separator != 0 { index += 1 }
                guard index < end else { break }
                let keyStart = index
                runs(while: Self.endsKey, &index)
                let key = UnsafeRawBufferPointer(rebasing: text[keyStart..<index])
                let hasValue = index < end && text[index] == valueSeparator
                if hasValue { index += 1 }
                guard !key.isEmpty else {
                    runs(while: Self.separator, &index)
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
                    runs(while: Self.separator, &index)
                    pair(key, .inferred(UnsafeRawBufferPointer(rebasing: text[valueStart..<index])))
                }
            }
            return count
        }
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
