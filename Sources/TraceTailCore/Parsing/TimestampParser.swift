/// Reads the timestamps logs carry: RFC 3339 / ISO 8601 text with fractions and offsets (and the variants loggers
/// write by default: a space for `T`, a comma before the fraction, `UTC` or an offset after a space), RFC 1123,
/// and epoch numbers in seconds, milliseconds, microseconds or nanoseconds (told apart by magnitude).
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
            if bytes.count >= 19 { return rfc3339(bytes) ?? rfc1123(bytes) }
            return ByteNumbers.decimal(bytes).flatMap { bytes.contains(UInt8(ascii: "-")) ? nil : epoch($0, exact: nil) }
        default: return nil
        }
    }

    /// Epoch numbers: below 10¹¹ seconds (until year 5138), below 10¹⁴ milliseconds, below 10¹⁷ microseconds,
    /// otherwise nanoseconds.
    static func epoch(_ number: Double, exact: Int64?) -> UInt64? {
        guard number.isFinite, number > 0, number < 1.8e19 else { return nil }
        let scale: UInt64 = number < 1e11 ? 1_000_000_000 : number < 1e14 ? 1_000_000 : number < 1e17 ? 1000 : 1
        // Whole and fraction apart: a double holds an epoch in seconds only to about 240 ns, so its fraction is
        // rounded to the microsecond (`1767323045.678` is …045.678, not …045.677999973).
        let whole = exact.map { UInt64($0) } ?? UInt64(number.rounded(.down))
        let step = Double(min(scale, 1000))
        let fraction = exact == nil ? UInt64(((number - number.rounded(.down)) * Double(scale) / step).rounded() * step) : 0
        let (wholeNanoseconds, overflow) = whole.multipliedReportingOverflow(by: scale)
        let (total, carry) = wholeNanoseconds.addingReportingOverflow(fraction)
        return overflow || carry ? nil : total
    }

    /// `2026-01-01T00:00:00Z`, `2026-01-01 00:00:00.123456+02:00`, Python's `2026-01-01 00:00:00,123`, Go's
    /// `2026-01-01 00:00:00.123 +0000 UTC`, `2026-01-01 00:00:00 UTC`; without a zone, UTC.
    static func rfc3339(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard bytes.count >= 19 else { return nil }
        guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")].contains(bytes[10]),
              let year = number(bytes, 0..<4), let month = number(bytes, 5..<7), let day = number(bytes, 8..<10)
        else { return nil }
        return clock(bytes, from: 11) { hour, minute, second, fraction, offset in
            civil(year: year, month: month, day: day, hour: hour, minute: minute, second: second, fraction: fraction, offset: offset)
        }
    }

    /// RFC 1123 (HTTP dates, `Date.toUTCString()`): `Mon, 02 Jan 2026 15:04:05 GMT`, `2 Jan 2026 15:04:05 +0100`.
    static func rfc1123(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        var index = 0
        if bytes.count > 5, bytes[3] == UInt8(ascii: ","), bytes[4] == UInt8(ascii: " ") { index = 5 }
        let dayDigits = index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: " ") ? 1 : 2
        guard let day = number(bytes, index..<index + dayDigits) else { return nil }
        index += dayDigits
        let months: [StaticString] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard index + 13 <= bytes.count, bytes[index] == UInt8(ascii: " "), bytes[index + 4] == UInt8(ascii: " "),
              bytes[index + 9] == UInt8(ascii: " "),
              let month = months.firstIndex(where: { ByteNumbers.equals(UnsafeRawBufferPointer(rebasing: bytes[index + 1..<index + 4]), $0) }),
              let year = number(bytes, index + 5..<index + 9) else { return nil }
        return clock(bytes, from: index + 10) { hour, minute, second, fraction, offset in
            civil(year: year, month: month + 1, day: day, hour: hour, minute: minute, second: second, fraction: fraction, offset: offset)
        }
    }

    /// Reads `hh:mm:ss`, an optional fraction and the zone that must end the text, and hands them to `body`.
    private static func clock(
        _ bytes: UnsafeRawBufferPointer, from start: Int, _ body: (Int, Int, Int, UInt64, Int) -> UInt64?
    ) -> UInt64? {
        guard start + 8 <= bytes.count, bytes[start + 2] == UInt8(ascii: ":"), bytes[start + 5] == UInt8(ascii: ":"),
              let hour = number(bytes, start..<start + 2), let minute = number(bytes, start + 3..<start + 5),
              let second = number(bytes, start + 6..<start + 8) else { return nil }
        var index = start + 8
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
        guard let offset = zoneOffset(bytes, from: index) else { return nil }
        return body(hour, minute, second, fraction, offset)
    }

    /// The zone that ends a time, in seconds east of UTC: nothing (UTC), `Z`, `UTC` or `GMT`, or an offset
    /// (`+02:00`, `+0200`, `+02`), after an optional space; an offset may be followed by a zone's abbreviation, as
    /// Go writes `+0100 CET`. Nil when anything else follows.
    static func zoneOffset(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = start
        guard index < bytes.count else { return 0 }
        if bytes[index] == UInt8(ascii: " ") { index += 1 }
        guard index < bytes.count else { return nil }
        let rest = UnsafeRawBufferPointer(rebasing: bytes[index...])
        if ByteNumbers.equals(rest, "Z") || ByteNumbers.equals(rest, "z") || ByteNumbers.equals(rest, "UTC")
            || ByteNumbers.equals(rest, "GMT") { return 0 }
        guard rest[0] == UInt8(ascii: "+") || rest[0] == UInt8(ascii: "-"), let hours = number(rest, 1..<3), hours < 24 else { return nil }
        var end = 3
        var minutes = 0
        if end < rest.count, rest[end] != UInt8(ascii: " ") {
            if rest[end] == UInt8(ascii: ":") { end += 1 }
            guard let value = number(rest, end..<end + 2), value < 60 else { return nil }
            minutes = value
            end += 2
        }
        if end < rest.count { // a zone's name after the offset: one space, then letters only
            guard rest[end] == UInt8(ascii: " "), end + 1 < rest.count,
                  rest[(end + 1)...].allSatisfy({ ($0 | 0x20) >= UInt8(ascii: "a") && ($0 | 0x20) <= UInt8(ascii: "z") }) else { return nil }
        }
        return (rest[0] == UInt8(ascii: "-") ? -1 : 1) * (hours * 3600 + minutes * 60)
    }

    /// Decimal digits in `range`, or nil.
    @inline(__always) // six calls per timestamp
    private static func number(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int? {
        guard range.upperBound <= bytes.count else { return nil }
        var value = 0
        for index in range {
            let digit = Int(bytes[index]) - 48
            guard (0...9).contains(digit) else { return nil }
            value = value * 10 + digit
        }
        return value
    }

    /// Nanoseconds since the epoch of a civil time, or nil when a part is out of range.
    private static func civil(
        year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, fraction: UInt64, offset: Int
    ) -> UInt64? {
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60, year >= 1970 else { return nil }
        let days = daysSinceEpoch(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
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
