/// Reads the timestamps logs carry: RFC 3339 / ISO 8601 text with fractions and offsets, and epoch numbers in
/// seconds, milliseconds, microseconds or nanoseconds (told apart by magnitude).
public enum TimestampParser {
    /// Nanoseconds since the epoch, or nil when the value is no timestamp.
    public static func nanoseconds(_ value: FieldValue) -> UInt64? {
        value.withRawValue { nanoseconds($0) }
    }

    /// Nanoseconds since the epoch from a borrowed value.
    public static func nanoseconds(_ value: RawValue) -> UInt64? {
        switch value {
        case .int(let number): return epoch(Double(number), exact: number)
        case .double(let number): return epoch(number, exact: nil)
        case .text(let bytes), .inferred(let bytes):
            if let number = ByteNumbers.integer(bytes) { return epoch(Double(number), exact: number) }
            if bytes.count >= 19 { return rfc3339(bytes) }
            return ByteNumbers.decimal(bytes).flatMap { bytes.contains(UInt8(ascii: "-")) ? nil : epoch($0, exact: nil) }
        default: return nil
        }
    }

    /// Epoch numbers: below 10¹¹ seconds (until year 5138), below 10¹⁴ milliseconds, below 10¹⁷ microseconds,
    /// otherwise nanoseconds.
    static func epoch(_ number: Double, exact: Int64?) -> UInt64? {
        guard number.isFinite, number > 0, number < 1.8e19 else { return nil }
        let scale: UInt64 = number < 1e11 ? 1_000_000_000 : number < 1e14 ? 1_000_000 : number < 1e17 ? 1000 : 1
        // Whole and fraction apart: a double holds an epoch in nanoseconds only to about 256 ns.
        let whole = exact.map { UInt64($0) } ?? UInt64(number.rounded(.down))
        let fraction = exact == nil ? UInt64(((number - number.rounded(.down)) * Double(scale)).rounded()) : 0
        let (wholeNanoseconds, overflow) = whole.multipliedReportingOverflow(by: scale)
        let (total, carry) = wholeNanoseconds.addingReportingOverflow(fraction)
        return overflow || carry ? nil : total
    }

    /// `2026-01-01T00:00:00Z`, `2026-01-01 00:00:00.123456+02:00`, `2026-01-01T00:00:00` (taken as UTC).
    static func rfc3339(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard bytes.count >= 19 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let digit = Int(bytes[index]) - 48
                guard (0...9).contains(digit) else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")].contains(bytes[10]),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60, year >= 1970
        else { return nil }
        var index = 19
        var fraction: UInt64 = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") || bytes[index] == UInt8(ascii: ",") {
            index += 1
            var digits = 0
            while index < bytes.count, (48...57).contains(bytes[index]) {
                if digits < 9 { fraction = fraction * 10 + UInt64(bytes[index] - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in min(digits, 9)..<9 { fraction *= 10 }
        }
        var offsetSeconds = 0
        if index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "Z"), UInt8(ascii: "z"):
                index += 1
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
                let compact = index + 5 == bytes.count
                guard index + (compact ? 5 : 6) == bytes.count, let hours = number(index + 1..<index + 3),
                      compact || bytes[index + 3] == UInt8(ascii: ":"),
                      let minutes = number(compact ? index + 3..<index + 5 : index + 4..<index + 6) else { return nil }
                offsetSeconds = sign * (hours * 3600 + minutes * 60)
                index = bytes.count
            default:
                return nil
            }
        }
        guard index == bytes.count else { return nil }
        let days = daysSinceEpoch(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        guard seconds >= 0 else { return nil }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        let (nanoseconds, carry) = whole.addingReportingOverflow(fraction)
        return overflow || carry ? nil : nanoseconds
    }

    /// Howard Hinnant's `days_from_civil`.
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
