/// A configuration option with a fixed set of values; decoding names them all when the value is not one of them.
public protocol ConfigChoice: CaseIterable, RawRepresentable<String>, Decodable, Sendable {}

extension ConfigChoice {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(rawValue: text) else {
            let choices = Self.allCases.map(\.rawValue).joined(separator: ", ")
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath, debugDescription: "expected one of \(choices), found '\(text)'"))
        }
        self = value
    }

    /// `a | b | c`, for option docs.
    public static var choices: String { allCases.map(\.rawValue).joined(separator: " | ") }
}
