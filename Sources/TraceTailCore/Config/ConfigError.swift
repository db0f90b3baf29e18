/// One configuration mistake: where it is, which key, and what was expected.
public struct ConfigDiagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation?
    /// The file when no exact location is known.
    public var file: String?
    /// The key path, e.g. `pipelines.app.outputs[0].endpoint`.
    public var path: String
    public var message: String

    public init(location: SourceLocation? = nil, file: String? = nil, path: String = "", message: String) {
        self.location = location
        self.file = file ?? location?.file
        self.path = path
        self.message = Redactor.shared.redact(message)
    }

    public var description: String {
        let place = location?.description ?? file ?? "config"
        return path.isEmpty ? "\(place): \(message)" : "\(place): \(path): \(message)"
    }
}

/// Every mistake found in a configuration, in file order.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [ConfigDiagnostic]

    public init(_ diagnostics: [ConfigDiagnostic]) {
        self.diagnostics = diagnostics.sorted {
            ($0.location?.line ?? 0, $0.location?.column ?? 0) < ($1.location?.line ?? 0, $1.location?.column ?? 0)
        }
    }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Renders a coding path as `a.b[2].c`.
func renderPath(_ path: [any CodingKey]) -> String {
    var text = ""
    for key in path {
        if let index = key.intValue {
            text += "[\(index)]"
        } else {
            text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
        }
    }
    return text
}

/// Thrown by a configuration type's `init(from:)` about its own value, pointing at a byte inside it (e.g. where a
/// regular expression stops compiling).
public struct ConfigValueError: Error, Sendable {
    public var message: String
    public var codingPath: [AnyCodingKey]
    /// Bytes from the start of the value's text.
    public var offset: Int

    public init(_ message: String, codingPath: [any CodingKey], offset: Int = 0) {
        self.message = message
        self.codingPath = codingPath.map { $0.intValue.map(AnyCodingKey.init(intValue:)) ?? AnyCodingKey(stringValue: $0.stringValue) }
        self.offset = offset
    }
}
