/// An OpenTelemetry attribute value.
public enum AttributeValue: Sendable, Equatable {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case array([AttributeValue])
}

/// An ordered map of attributes (few keys per span: a linear scan beats hashing).
public struct Attributes: Sendable, Equatable, Sequence {
    public private(set) var entries: [(key: String, value: AttributeValue)] = []

    public init() {}

    public init(_ entries: [(String, AttributeValue)]) {
        for (key, value) in entries { self[key] = value }
    }

    public var count: Int { entries.count }

    public mutating func reserveCapacity(_ capacity: Int) { entries.reserveCapacity(capacity) }
    public var isEmpty: Bool { entries.isEmpty }

    /// Reads, replaces (keeping the position), adds, or with nil removes a value.
    public subscript(key: String) -> AttributeValue? {
        get { entries.first { $0.key.utf8.count == key.utf8.count && $0.key == key }?.value }
        set {
            let index = entries.firstIndex { $0.key.utf8.count == key.utf8.count && $0.key == key }
            switch (index, newValue) {
            case (let index?, let value?): entries[index].value = value
            case (let index?, nil): entries.remove(at: index)
            case (nil, let value?): entries.append((key, value))
            case (nil, nil): break
            }
        }
    }

    /// Adds a value whose key the caller knows is not there yet (no search).
    mutating func appendNew(_ key: String, _ value: AttributeValue) {
        entries.append((key, value))
    }

    /// Removes and returns a value.
    @discardableResult
    public mutating func remove(_ key: String) -> AttributeValue? {
        guard let index = entries.firstIndex(where: { $0.key == key }) else { return nil }
        return entries.remove(at: index).value
    }

    public func makeIterator() -> IndexingIterator<[(key: String, value: AttributeValue)]> { entries.makeIterator() }

    public static func == (lhs: Attributes, rhs: Attributes) -> Bool {
        lhs.entries.elementsEqual(rhs.entries) { $0.key == $1.key && $0.value == $1.value }
    }
}

/// A JSON value with object keys in document order. Integers that fit in 64 bits stay exact.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.elementsEqual(b) { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// The elements of an array.
    public var items: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// A string, or an integer as text (ids may arrive as either).
    public var text: String? {
        switch self {
        case .string(let text): return text
        case .int(let number): return String(number)
        default: return nil
        }
    }

    /// A number of either kind.
    public var number: Double? {
        switch self {
        case .int(let number): return Double(number)
        case .double(let number): return number
        default: return nil
        }
    }

    /// The value under `key` of an object.
    public subscript(key: String) -> JSONValue? {
        if case .object(let entries) = self { return entries.first { $0.key == key }?.value }
        return nil
    }
}
