/// Formatting of epoch nanoseconds.
public enum Timestamp {
    /// A duration for people: `1.5s`, `300ms`, `40µs`.
    public static func duration(_ nanoseconds: UInt64) -> String {
        if nanoseconds >= 1_000_000_000 { return "\(Double(nanoseconds / 1_000_000) / 1000)s" }
        if nanoseconds >= 1_000_000 { return "\(nanoseconds / 1_000_000)ms" }
        return "\(nanoseconds / 1000)µs"
    }

    /// `2026-01-01T00:00:00.123Z` with the given number of fraction digits (0–9), in UTC.
    public static func rfc3339(nanoseconds: UInt64, fractionDigits: Int = 3) -> String {
        let seconds = Int64(nanoseconds / 1_000_000_000)
        let (year, month, day) = civilDate(daysSinceEpoch: seconds / 86_400)
        let secondOfDay = seconds % 86_400
        var text = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T"
        text += "\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))"
        if fractionDigits > 0 {
            let fraction = String(pad(Int64(nanoseconds % 1_000_000_000), 9).prefix(fractionDigits))
            text += "." + fraction
        }
        return text + "Z"
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
    static func civilDate(daysSinceEpoch: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
