import CLibYAML

/// A position in a configuration file (1-based line and column).
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// One node of a parsed YAML document, with the place it was written.
public struct YAMLNode: Sendable {
    public enum Content: Sendable {
        /// A scalar; `plain` is false for quoted and block scalars (which are always strings).
        case scalar(String, plain: Bool)
        case sequence([YAMLNode])
        case mapping([(key: YAMLNode, value: YAMLNode)])
    }

    public var content: Content
    public var location: SourceLocation

    public init(_ content: Content, at location: SourceLocation) {
        self.content = content
        self.location = location
    }

    /// The scalar's text, or nil for collections.
    public var scalar: String? {
        if case .scalar(let text, _) = content { return text }
        return nil
    }

    /// True for `~`, `null`, `Null`, `NULL` and the empty plain scalar.
    public var isNull: Bool {
        guard case .scalar(let text, let plain) = content, plain else { return false }
        return text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL"
    }

    /// The entries of a mapping, or nil.
    public var mapping: [(key: YAMLNode, value: YAMLNode)]? {
        if case .mapping(let entries) = content { return entries }
        return nil
    }

    /// The value under `key` in a mapping.
    public subscript(key: String) -> YAMLNode? {
        mapping?.first { $0.key.scalar == key }?.value
    }

    /// A short name of the node's kind for error messages.
    /// The node's content as one line of text, without positions: equal for equal configurations.
    public var canonical: String {
        switch content {
        case .scalar(let text, let plain): return plain ? text : "\"" + text + "\""
        case .sequence(let items): return "[" + items.map(\.canonical).joined(separator: ",") + "]"
        case .mapping(let entries): return "{" + entries.map { $0.key.canonical + ":" + $0.value.canonical }.joined(separator: ",") + "}"
        }
    }

    public var kindName: String {
        switch content {
        case .scalar: return isNull ? "null" : "a scalar"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }
}

/// Parses YAML text into a `YAMLNode` tree with libyaml, keeping line and column for every node.
///
/// Anchors and aliases are resolved; duplicate keys and multi-document streams are errors.
public enum YAMLParser {
    /// Parses one document. Duplicate keys are added to `diagnostics` (the first value is kept) so that the
    /// caller can go on and report every other mistake too; syntax errors throw.
    public static func parse(
        _ text: String, file: String, diagnostics: inout [ConfigDiagnostic]
    ) throws(ConfigErrors) -> YAMLNode {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw ConfigErrors([ConfigDiagnostic(file: file, message: "cannot initialise the YAML parser")])
        }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { buffer throws(ConfigErrors) in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var builder = TreeBuilder(file: file)
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    let mark = parser.problem_mark
                    let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
                    let context = parser.context.map { " " + String(cString: $0) } ?? ""
                    throw ConfigErrors([ConfigDiagnostic(
                        location: SourceLocation(file: file, line: mark.line + 1, column: mark.column + 1),
                        message: "invalid YAML: \(problem)\(context)")])
                }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { break }
                try builder.handle(&event)
            }
            diagnostics += builder.diagnostics
            guard let root = builder.root else {
                return YAMLNode(.mapping([]), at: SourceLocation(file: file, line: 1, column: 1))
            }
            return root
        }
    }

    /// Builds the node tree from libyaml's event stream.
    private struct TreeBuilder {
        let file: String
        var root: YAMLNode?
        var documents = 0
        /// Open collections: the node being built and, for mappings, a pending key.
        var stack: [(node: YAMLNode, anchor: String?, pendingKey: YAMLNode?)] = []
        var anchors: [String: YAMLNode] = [:]
        var diagnostics: [ConfigDiagnostic] = []

        init(file: String) { self.file = file }

        func location(_ mark: yaml_mark_t) -> SourceLocation {
            SourceLocation(file: file, line: mark.line + 1, column: mark.column + 1)
        }

        static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
            pointer.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
        }

        mutating func handle(_ event: inout yaml_event_t) throws(ConfigErrors) {
            let here = location(event.start_mark)
            switch event.type {
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 {
                    throw ConfigErrors([ConfigDiagnostic(location: here, message: "only one YAML document is allowed")])
                }
            case YAML_SCALAR_EVENT:
                let data = event.data.scalar
                let text = String(decoding: UnsafeBufferPointer(start: data.value, count: data.length), as: UTF8.self)
                let node = YAMLNode(.scalar(text, plain: data.style == YAML_PLAIN_SCALAR_STYLE), at: here)
                try add(node, anchor: Self.string(data.anchor))
            case YAML_ALIAS_EVENT:
                let name = Self.string(event.data.alias.anchor) ?? ""
                guard var node = anchors[name] else {
                    throw ConfigErrors([ConfigDiagnostic(location: here, message: "unknown alias '*\(name)'")])
                }
                node.location = here
                try add(node, anchor: nil)
            case YAML_SEQUENCE_START_EVENT:
                stack.append((YAMLNode(.sequence([]), at: here), Self.string(event.data.sequence_start.anchor), nil))
            case YAML_MAPPING_START_EVENT:
                stack.append((YAMLNode(.mapping([]), at: here), Self.string(event.data.mapping_start.anchor), nil))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                let finished = stack.removeLast()
                try add(finished.node, anchor: finished.anchor)
            default:
                break
            }
        }

        mutating func add(_ node: YAMLNode, anchor: String?) throws(ConfigErrors) {
            if let anchor { anchors[anchor] = node }
            guard !stack.isEmpty else {
                root = node
                return
            }
            let top = stack.count - 1
            switch stack[top].node.content {
            case .sequence(var items):
                items.append(node)
                stack[top].node.content = .sequence(items)
            case .mapping(var entries):
                guard let key = stack[top].pendingKey else {
                    guard node.scalar != nil else {
                        throw ConfigErrors([ConfigDiagnostic(location: node.location, message: "mapping keys must be scalars")])
                    }
                    stack[top].pendingKey = node
                    return
                }
                if let first = entries.first(where: { $0.key.scalar == key.scalar }) {
                    diagnostics.append(ConfigDiagnostic(
                        location: key.location,
                        message: "duplicate key '\(key.scalar ?? "")' (first defined at line \(first.key.location.line), column \(first.key.location.column))"))
                } else {
                    entries.append((key, node))
                }
                stack[top].node.content = .mapping(entries)
                stack[top].pendingKey = nil
            case .scalar:
                preconditionFailure("a scalar is never an open collection")
            }
        }
    }
}
