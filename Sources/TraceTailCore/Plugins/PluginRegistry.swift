/// The plugin types a build knows, by `kind`.
public struct PluginRegistry: Sendable {
    /// A registered plugin type with its stage.
    public enum Entry: Sendable {
        case input(any Input.Type)
        case parser(any Parser.Type)
        case output(any Output.Type)

        public var type: any Plugin.Type {
            switch self {
            case .input(let type): return type
            case .parser(let type): return type
            case .output(let type): return type
            }
        }

        /// The plugin's options plus those the runtime reads for every plugin of its stage (an output's `buffer`).
        public var options: [PluginOption] {
            if case .output = self { return type.options + [BufferConfiguration.option] }
            return type.options
        }

        public var stage: Stage {
            switch self {
            case .input: return .input
            case .parser: return .parser
            case .output: return .output
            }
        }
    }

    public struct DuplicateKind: Error, CustomStringConvertible {
        public var kind: String
        public var description: String { "two plugins declare the kind '\(kind)'" }
    }

    /// Every plugin in registration order.
    public let entries: [Entry]

    /// Fails when two plugins share a `kind`.
    public init(inputs: [any Input.Type], parsers: [any Parser.Type], outputs: [any Output.Type]) throws(DuplicateKind) {
        let entries = inputs.map(Entry.input) + parsers.map(Entry.parser) + outputs.map(Entry.output)
        var seen = Set<String>()
        for entry in entries where !seen.insert(entry.type.kind).inserted {
            throw DuplicateKind(kind: entry.type.kind)
        }
        self.entries = entries
    }

    /// The plugin of that kind.
    public func entry(kind: String) -> Entry? {
        entries.first { $0.type.kind == kind }
    }

    /// The kinds of one stage, for error messages.
    public func kinds(of stage: Stage) -> [String] {
        entries.filter { $0.stage == stage }.map { $0.type.kind }
    }
}
