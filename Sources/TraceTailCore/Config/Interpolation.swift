/// Expands `${VAR}`, `${VAR:-default}` and `${VAR:?message}` in scalars; `$$` is a literal `$`.
public struct Interpolator: Sendable {
    public var environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    /// Expands every scalar of the tree (keys are left as written). Values under a secret-looking key
    /// are registered with the redactor. Mistakes are appended to `diagnostics`.
    public func expand(_ node: YAMLNode, path: String = "", diagnostics: inout [ConfigDiagnostic]) -> YAMLNode {
        let key = path.split(separator: ".").last.map(String.init) ?? ""
        var node = node
        switch node.content {
        case .scalar(let text, let plain):
            do {
                let expanded = text.utf8.contains(UInt8(ascii: "$")) ? try expand(text) : text
                node.content = .scalar(expanded, plain: plain)
                if Redactor.isSecretKey(key) { Redactor.shared.register(expanded) }
            } catch {
                diagnostics.append(ConfigDiagnostic(location: node.location, path: path, message: error.message))
            }
        case .sequence(let items):
            node.content = .sequence(items.enumerated().map { index, item in
                expand(item, path: path + "[\(index)]", diagnostics: &diagnostics)
            })
        case .mapping(let entries):
            node.content = .mapping(entries.map { entry in
                let name = entry.key.scalar ?? ""
                return (entry.key, expand(entry.value, path: path.isEmpty ? name : path + "." + name, diagnostics: &diagnostics))
            })
        }
        return node
    }

    public struct Failure: Error {
        public var message: String
    }

    /// Expands one string.
    public func expand(_ text: String) throws(Failure) -> String {
        var result = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            result += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.first == "$" {
                result += "$"
                rest = after.dropFirst()
            } else if after.first == "{" {
                guard let close = after.firstIndex(of: "}") else {
                    throw Failure(message: "unterminated '${' in '\(text)'")
                }
                result += try resolve(String(after[after.index(after: after.startIndex)..<close]))
                rest = after[after.index(after: close)...]
            } else {
                result += "$"
                rest = after
            }
        }
        return result + rest
    }

    private func resolve(_ expression: String) throws(Failure) -> String {
        let name: Substring
        var operation: (kind: Substring, argument: Substring)?
        if let colon = expression.firstIndex(of: ":") {
            name = expression[..<colon]
            let spec = expression[expression.index(after: colon)...]
            guard let kind = spec.first, kind == "-" || kind == "?" else {
                throw Failure(message: "'${\(expression)}': expected ':-default' or ':?message' after the variable name")
            }
            operation = (spec.prefix(1), spec.dropFirst())
        } else {
            name = Substring(expression)
        }
        guard !name.isEmpty, name.allSatisfy({ $0 == "_" || $0.isLetter || $0.isNumber }) else {
            throw Failure(message: "'${\(expression)}' is not a valid variable reference")
        }
        if let value = environment[String(name)], !value.isEmpty { return value }
        switch operation?.kind {
        case "-": return String(operation!.argument)
        case "?":
            let message = operation!.argument.isEmpty ? "is required" : String(operation!.argument)
            throw Failure(message: "environment variable \(name) is not set: \(message)")
        default:
            throw Failure(message: "environment variable \(name) is not set (write ${\(name):-default} to give a default)")
        }
    }
}
