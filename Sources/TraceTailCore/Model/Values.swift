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

    /// The capacity a record's attributes start with: about what a parsed LLM-call line holds, so that they are
    /// allocated once, not grown.
    public static let typicalCount = 12

    /// Reads, replaces (keeping the position), adds, or with nil removes a value.
    public subscript(key: String) -> AttributeValue? {
        get { value(key, amongFirst: entries.count) }
        set {
            switch (index(of: key, amongFirst: entries.count), newValue) {
            case (let index?, let value?): entries[index].value = value
            case (let index?, nil): entries.remove(at: index)
            case (nil, let value?): entries.append((key, value))
            case (nil, nil): break
            }
        }
    }

    /// The value of `key` among the first `count` entries only, or nil.
    public func value(_ key: String, amongFirst count: Int) -> AttributeValue? {
        index(of: key, amongFirst: count).map { entries[$0].value }
    }

    /// Sets a value whose key, if there, is among the first `count` entries — those written before a caller that
    /// tracks which keys it wrote itself (`FieldMapper`): only those are searched, else the value is appended.
    @inline(__always) // per mapped attribute; with no earlier entries, only the append
    mutating func set(_ key: String, _ value: AttributeValue, amongFirst count: Int) {
        if count > 0, let index = index(of: key, amongFirst: count) {
            entries[index].value = value
        } else {
            entries.append((key, value))
        }
    }

    /// The position of `key` among the first `count` entries (by index: no slice, no closure).
    private func index(of key: String, amongFirst count: Int) -> Int? {
        var index = 0
        while index < count {
            if entries[index].key.utf8.count == key.utf8.count && entries[index].key == key { return index }
            index += 1
        }
        return nil
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
