/// Decodes a `Decodable` configuration type from a `YAMLNode`, so that every error names `file:line:column`
/// and the key path.
///
/// Unknown keys are reported without stopping the decode, so one pass finds them all; the first type error
/// or missing key ends the decode of that value.
public enum ConfigDecoder {
    /// Decodes `type` from `node`; on failure returns nil and appends what went wrong to `diagnostics`.
    /// - Parameters:
    ///   - path: where `node` stands in the file, for messages.
    ///   - ignoredKeys: keys of the top mapping that belong to the caller (e.g. a plugin's `type`).
    ///   - knownKeys: the top mapping's valid keys, listed when an unknown one is found.
    public static func decode<T: Decodable>(
        _ type: T.Type, from node: YAMLNode, path: [any CodingKey] = [], ignoredKeys: Set<String> = [],
        knownKeys: [String] = [], diagnostics: inout [ConfigDiagnostic]
    ) -> T? {
        let state = DecodingState(root: node, rootPath: path, ignoredKeys: ignoredKeys, knownKeys: knownKeys)
        defer {
            state.reportUnknownKeys()
            diagnostics += state.diagnostics
        }
        do {
            return try T(from: NodeDecoder(node: node, codingPath: path, state: state))
        } catch let diagnostic as ConfigDiagnostic {
            state.report(diagnostic)
        } catch let error as DecodingError {
            state.report(state.diagnostic(for: error))
        } catch let error as ConfigValueError {
            state.report(state.diagnostic(for: error))
        } catch {
            state.report(ConfigDiagnostic(location: node.location, path: renderPath(path), message: "\(error)"))
        }
        return nil
    }
}

/// What one decode has seen so far.
final class DecodingState {
    let root: YAMLNode
    let rootPath: [any CodingKey]
    let ignoredKeys: Set<String>
    let knownKeys: [String]
    private(set) var diagnostics: [ConfigDiagnostic] = []

    init(root: YAMLNode, rootPath: [any CodingKey], ignoredKeys: Set<String>, knownKeys: [String]) {
        self.root = root
        self.rootPath = rootPath
        self.ignoredKeys = ignoredKeys
        self.knownKeys = knownKeys
    }

    /// Mappings read so far, by position, with the keys some container accepted. Several types may read the same
    /// mapping (a parser's options and the shared mapping options), so a key is unknown only when none took it.
    private var mappings: [SourceLocation: (path: [any CodingKey], entries: [YAMLNode], accepted: Set<String>)] = [:]

    func noteMapping(_ node: YAMLNode, path: [any CodingKey], accepted: some Sequence<String>) {
        let keys = node.mapping?.map(\.key) ?? []
        mappings[node.location, default: (path, keys, [])].accepted.formUnion(accepted)
    }

    func reportUnknownKeys() {
        for (path, entries, accepted) in mappings.values {
            let atRoot = path.count == rootPath.count
            let ignored = atRoot ? ignoredKeys : []
            let known = atRoot && !knownKeys.isEmpty ? " (known: \(knownKeys.joined(separator: ", ")))" : ""
            for key in entries {
                let name = key.scalar ?? ""
                if !accepted.contains(name) && !ignored.contains(name) {
                    report(ConfigDiagnostic(location: key.location, path: renderPath(path + [AnyCodingKey(stringValue: name)]),
                                            message: "unknown key '\(name)'\(known)"))
                }
            }
        }
    }

    func report(_ diagnostic: ConfigDiagnostic) {
        if !diagnostics.contains(diagnostic) { diagnostics.append(diagnostic) }
    }

    /// Maps a `DecodingError` thrown by a hand-written `init(from:)` back to the node it is about.
    func diagnostic(for error: DecodingError) -> ConfigDiagnostic {
        let context: DecodingError.Context
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c), .dataCorrupted(let c):
            context = c
        @unknown default:
            return ConfigDiagnostic(location: root.location, path: renderPath(rootPath), message: "\(error)")
        }
        let node = self.node(at: context.codingPath)
        return ConfigDiagnostic(location: node.location, path: renderPath(context.codingPath), message: context.debugDescription)
    }

    /// Points into the value: a quoted scalar's text starts one column after its quote.
    func diagnostic(for error: ConfigValueError) -> ConfigDiagnostic {
        let node = self.node(at: error.codingPath)
        var location = node.location
        if case .scalar(let text, let plain) = node.content, !text.contains("\n") {
            location.column += error.offset + (plain ? 0 : 1)
        }
        return ConfigDiagnostic(location: location, path: renderPath(error.codingPath), message: error.message)
    }

    /// The node a coding path leads to (as far as it leads).
    func node(at codingPath: [any CodingKey]) -> YAMLNode {
        var node = root
        for key in codingPath.dropFirst(rootPath.count) {
            switch node.content {
            case .mapping(let entries):
                if let next = entries.first(where: { $0.key.scalar == key.stringValue }) { node = next.value }
            case .sequence(let items):
                if let index = key.intValue, items.indices.contains(index) { node = items[index] }
            case .scalar:
                break
            }
        }
        return node
    }
}

/// A coding key for list indices and free-form keys.
public struct AnyCodingKey: CodingKey, Sendable {
    public var stringValue: String
    public var intValue: Int?
    public init(stringValue: String) { self.stringValue = stringValue }
    public init(intValue: Int) {
        self.stringValue = "\(intValue)"
        self.intValue = intValue
    }
}

struct NodeDecoder: Decoder {
    let node: YAMLNode
    let codingPath: [any CodingKey]
    let state: DecodingState
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func fail(_ message: String) -> ConfigDiagnostic {
        ConfigDiagnostic(location: node.location, path: renderPath(codingPath), message: message)
    }

    /// The node's text for a message, masked when its key says it is a secret.
    var quoted: String {
        guard let text = node.scalar else { return node.kindName }
        if let key = codingPath.last, Redactor.isSecretKey(key.stringValue) { return "'\(Redactor.mask)'" }
        return "'\(text.count > 60 ? String(text.prefix(60)) + "…" : text)'"
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard let entries = node.mapping else {
            throw fail("expected a mapping, found \(quoted)")
        }
        state.noteMapping(node, path: codingPath,
                          accepted: entries.compactMap { $0.key.scalar }.filter { Key(stringValue: $0) != nil })
        return KeyedDecodingContainer(KeyedContainer<Key>(decoder: self, entries: entries))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .sequence(let items) = node.content else {
            throw fail("expected a list, found \(quoted)")
        }
        return UnkeyedContainer(decoder: self, items: items)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func child(_ node: YAMLNode, _ key: any CodingKey) -> NodeDecoder {
        NodeDecoder(node: node, codingPath: codingPath + [key], state: state)
    }

    /// Decodes a scalar by parsing its text.
    func scalar<T>(_ what: String, _ parse: (String) -> T?) throws -> T {
        guard let text = node.scalar, !node.isNull, let value = parse(text) else {
            throw fail("expected \(what), found \(quoted)")
        }
        return value
    }
}

extension NodeDecoder: SingleValueDecodingContainer {
    func decodeNil() -> Bool { node.isNull }
    func decode(_ type: Bool.Type) throws -> Bool {
        try scalar("true or false") {
            switch $0.lowercased() {
            case "true": return true
            case "false": return false
            default: return nil
            }
        }
    }
    func decode(_ type: String.Type) throws -> String {
        guard let text = node.scalar, !node.isNull else { throw fail("expected a string, found \(quoted)") }
        return text
    }
    func decode(_ type: Double.Type) throws -> Double { try scalar("a number") { Double($0) } }
    func decode(_ type: Float.Type) throws -> Float { try scalar("a number") { Float($0) } }
    func decode(_ type: Int.Type) throws -> Int { try integer() }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer() }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer() }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer() }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer() }
    func decode(_ type: UInt.Type) throws -> UInt { try integer() }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer() }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer() }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer() }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer() }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: self) }

    private func integer<T: FixedWidthInteger>() throws -> T {
        let range = T.min == 0 ? "a whole number from 0 to \(T.max)" : "a whole number"
        return try scalar(range) { T($0) }
    }
}

struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: NodeDecoder
    let entries: [(key: YAMLNode, value: YAMLNode)]
    var codingPath: [any CodingKey] { decoder.codingPath }
    var allKeys: [Key] { entries.compactMap { Key(stringValue: $0.key.scalar ?? "") } }

    func value(_ key: Key) -> YAMLNode? { entries.first { $0.key.scalar == key.stringValue }?.value }

    func contains(_ key: Key) -> Bool { value(key) != nil }

    func decodeNil(forKey key: Key) throws -> Bool { value(key)?.isNull ?? true }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        guard let node = value(key) else {
            throw decoder.fail("missing required key '\(key.stringValue)'")
        }
        return try T(from: decoder.child(node, key))
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let node = value(key), !node.isNull else { return nil }
        return try T(from: decoder.child(node, key))
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try superDecoder(forKey: key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try superDecoder(forKey: key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { decoder }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        guard let node = value(key) else { throw decoder.fail("missing required key '\(key.stringValue)'") }
        return decoder.child(node, key)
    }
}

struct UnkeyedContainer: UnkeyedDecodingContainer {
    let decoder: NodeDecoder
    let items: [YAMLNode]
    var currentIndex = 0
    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    init(decoder: NodeDecoder, items: [YAMLNode]) {
        self.decoder = decoder
        self.items = items
    }

    mutating func next() throws -> NodeDecoder {
        guard !isAtEnd else { throw decoder.fail("the list has too few items") }
        defer { currentIndex += 1 }
        return decoder.child(items[currentIndex], AnyCodingKey(intValue: currentIndex))
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, items[currentIndex].isNull else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: next()) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }

    mutating func superDecoder() throws -> any Decoder { try next() }
}

extension KeyedDecodingContainer {
    /// An option with a default: replaces `value` with the key's value when the key is given.
    public func decode<T: Decodable>(_ key: Key, into value: inout T) throws {
        if let decoded = try decodeIfPresent(T.self, forKey: key) { value = decoded }
    }
}
