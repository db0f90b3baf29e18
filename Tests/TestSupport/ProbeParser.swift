import TraceTailCore

/// A parser whose configuration uses every kind of option, for configuration tests. It stamps each record with
/// its `pattern`.
public struct ProbeParser: Parser {
    public enum Mode: String, ConfigChoice {
        case fast, careful
    }

    public struct Configuration: Decodable, Sendable {
        public var pattern: String
        public var limit: Int?
        public var enabled: Bool?
        public var timeout: ConfigDuration?
        public var fields: [String]?
        public var apiKey: Secret?
        public var mode: Mode?

        public init(pattern: String) {
            self.pattern = pattern
        }

        enum CodingKeys: String, CodingKey {
            case pattern, limit, enabled, timeout, fields, mode
            case apiKey = "api_key"
        }
    }

    public static let kind = "probe"
    public static let summary = "Test parser."
    public static let options = [
        PluginOption("pattern", "string", "Stamped on every record."),
        PluginOption("limit", "integer", default: "none", ""),
        PluginOption("enabled", "bool", default: "false", ""),
        PluginOption("timeout", "duration", default: "none", ""),
        PluginOption("fields", "list of strings", default: "[]", ""),
        PluginOption("api_key", "secret", default: "none", ""),
        PluginOption("mode", Mode.choices, default: "fast", ""),
    ]

    public let configuration: Configuration

    public init(configuration: Configuration, context: PluginContext) {
        self.configuration = configuration
    }

    public func parse(_ batch: inout RecordBatch) {
        for index in batch.records.indices {
            batch.records[index].attributes["probe"] = .string(configuration.pattern)
        }
    }
}
