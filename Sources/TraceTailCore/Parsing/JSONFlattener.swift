/// Turns JSON values into attributes: arrays of one scalar type become array attributes, other arrays and objects
/// are kept as JSON text.
public enum JSONFlattener {
    /// The attribute for a non-object value.
    public static func attribute(_ value: JSONValue) -> AttributeValue {
        switch value {
        case .null: return .string("null")
        case .bool(let flag): return .bool(flag)
        case .int(let number): return .int(number)
        case .double(let number): return .double(number)
        case .string(let text): return .string(text)
        case .object: return .string(text(value))
        case .array(let items):
            let scalars = items.map(attribute)
            let homogeneous = scalars.allSatisfy { sameScalarKind($0, scalars.first!) }
            let nested = items.contains { if case .array = $0 { true } else if case .object = $0 { true } else { false } }
            return homogeneous && !nested ? .array(scalars) : .string(text(value))
        }
    }

    private static func sameScalarKind(_ a: AttributeValue, _ b: AttributeValue) -> Bool {
        switch (a, b) {
        case (.string, .string), (.int, .int), (.double, .double), (.bool, .bool): return true
        default: return false
        }
    }

    /// Compact JSON text of a value.
    public static func text(_ value: JSONValue) -> String {
        var writer = JSONWriter()
        writer.value(value)
        return writer.text
    }
}
