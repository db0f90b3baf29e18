/// A value a parser extracted from a log line, before mapping gives it its place and type.
public enum FieldValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    /// JSON text of an array or of an object kept whole.
    case json(String)

    /// Types text the way logfmt and regex values are read: integers, decimals and booleans become numbers and
    /// booleans; anything else stays a string.
    public static func inferred(_ text: String) -> FieldValue {
        guard let first = text.utf8.first else { return .string(text) }
        if first == UInt8(ascii: "-") || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) {
            if let integer = Int64(text) { return .int(integer) }
            if let number = Double(text), number.isFinite, !text.contains(where: { $0.isLetter && $0 != "e" && $0 != "E" }) {
                return .double(number)
            }
        }
        switch text {
        case "true": return .bool(true)
        case "false": return .bool(false)
        default: return .string(text)
        }
    }

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
