import FoundationEssentials
import TraceTailCore

/// A field of a protobuf message read from its JSON form, as proto3's JSON mapping has parsers read it: under its
/// lowerCamelCase name or its original proto name alike (`scopeSpans` and `scope_spans`), `null` meaning the
/// field is absent.
struct ProtoField: Sendable {
    /// The name in the .proto file, e.g. `start_time_unix_nano`.
    let proto: String
    /// Its lowerCamelCase JSON name, e.g. `startTimeUnixNano`.
    let json: String

    init(_ proto: String) {
        self.proto = proto
        let words = proto.split(separator: "_")
        json = String(words.first ?? "") + words.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// Both names, for messages: `'scopeSpans' (or 'scope_spans')`.
    var quoted: String { json == proto ? "'\(json)'" : "'\(json)' (or '\(proto)')" }

    /// Whether `key` names this field.
    func names(_ key: String) -> Bool { key == json || key == proto }
}

extension JSONValue {
    /// The field's value in this object, nil when absent or `null`.
    subscript(field: ProtoField) -> JSONValue? {
        guard case .object(let members) = self,
              let value = members.first(where: { field.names($0.key) })?.value, value != .null else { return nil }
        return value
    }

    /// What a field that takes text keeps of this value: a string as it is, an integer as its digits, anything
    /// else as its JSON text (never emptied).
    var keptText: String { text ?? JSONFlattener.text(self) }
}

/// Reads proto3-JSON scalars: 64-bit integers as strings or numbers, enums as names or numbers, ids as OTLP's
/// hex or the JSON mapping's base64. Errors name the field.
enum ProtoJSON {
    /// An int64 or fixed64: a JSON number or a decimal string (`"1767225600000000000"`); nil when absent.
    /// Throws when the value is neither, or a number with a fraction.
    static func integer(_ value: JSONValue?, _ field: ProtoField) throws(RequestError) -> Int64? {
        switch value {
        case nil: return nil
        case .int(let number)?: return number
        case .double(let number)? where number.rounded() == number && abs(number) < 0x1p64:
            return number < 0 ? Int64(number) : Int64(bitPattern: UInt64(number))
        case .string(let text)?:
            if let number = Int64(text) ?? UInt64(text).map({ Int64(bitPattern: $0) }) { return number }
            if let number = Double(text) { return try integer(.double(number), field) }
        default: break
        }
        throw .badRequest("\(field.quoted) must be an integer (a number or a decimal string), not \(JSONFlattener.text(value ?? .null))")
    }

    /// A double: a JSON number, or a string holding one (also `"NaN"`, `"Infinity"`, `"-Infinity"`).
    static func double(_ value: JSONValue) -> Double? {
        switch value {
        case .int, .double: return value.number
        case .string(let text): return Double(text)
        default: return nil
        }
    }

    /// An enum: its number, or its value's name as `names` lists them in number order (`["SPAN_KIND_UNSPECIFIED",
    /// "SPAN_KIND_INTERNAL", …]`); 0 when absent. Throws for a name the enum does not have.
    static func enumeration(_ value: JSONValue?, _ field: ProtoField, names: [String]) throws(RequestError) -> Int64 {
        if case .string(let name)? = value, Int64(name) == nil {
            guard let number = names.firstIndex(of: name) else {
                throw .badRequest("\(field.quoted) must be one of \(names.joined(separator: ", ")) or its number, not '\(name)'")
            }
            return Int64(number)
        }
        return try integer(value, field) ?? 0
    }

    /// An id's bytes: OTLP/JSON writes them as hex (`2 × count` digits), protobuf's JSON mapping as base64 (standard
    /// or URL-safe, padded or not); the lengths tell which. Empty for an absent id; nil for one that is neither.
    static func idBytes(_ value: JSONValue?, count: Int) -> [UInt8]? {
        guard let value else { return [] }
        guard case .string(let text) = value else { return nil }
        let digits = Array(text.utf8)
        if digits.isEmpty { return [] }
        if digits.count == 2 * count {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(count)
            for index in stride(from: 0, to: digits.count, by: 2) {
                guard let high = hexDigit(digits[index]), let low = hexDigit(digits[index + 1]) else { return nil }
                bytes.append(high << 4 | low)
            }
            return bytes
        }
        var base64 = text.replacing("-", with: "+").replacing("_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), data.count == count else { return nil }
        return Array(data)
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
