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

    /// Every plugin and option as text: one line per plugin, one indented line per option (`tracetail plugins`).
    public var textReference: String {
        entries.map { entry in
            let type = entry.type
            let options = entry.options.map { option in
                "    \(option.name): \(option.type), \(option.defaultValue.map { "default \($0)" } ?? "required"). \(option.summary)"
            }
            return (["\(type.kind) (\(entry.stage.rawValue)): \(type.summary)"] + options).joined(separator: "\n")
        }.joined(separator: "\n") + "\n"
    }

    /// The same as a Markdown reference (`tracetail plugins --format markdown`, kept in the README by a test).
    public var markdownReference: String {
        entries.map { entry in
            let type = entry.type
            var lines = ["#### `\(type.kind)` (\(entry.stage.rawValue))", "", type.summary, ""]
            if entry.options.isEmpty {
                lines.append("No options.")
            } else {
                lines += ["| option | type | default | meaning |", "|---|---|---|---|"]
                for option in entry.options {
                    let cells = ["`\(option.name)`", option.type, option.defaultValue.map { "`\($0)`" } ?? "required", option.summary]
                    lines.append("| " + cells.map { $0.split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|") }.joined(separator: " | ") + " |")
                }
            }
            return lines.joined(separator: "\n")
        }.joined(separator: "\n\n") + "\n"
    }
}
