/// Options every parser shares (the mapping step and what to do with bad lines); they sit beside the parser's own
/// options in YAML.
public struct ParserSettings: Sendable, Decodable {
    /// What happens to a line that fails to parse.
    public var onError = ParseFailurePolicy.keep
    /// Apply the built-in alias table (`model` → `gen_ai.request.model`, …).
    public var aliases = true
    /// The user's own renames, source field → target field (a canonical name or any attribute name).
    public var map: [String: String] = [:]
    /// Fields to leave out.
    public var drop: [String] = []
    /// A field whose value becomes the trace id, so that records sharing it form one trace.
    public var traceIDFrom: String?
    /// Every record's span type, overriding what the fields suggest.
    public var spanType: SpanType?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case aliases, map, drop
        case onError = "on_error"
        case traceIDFrom = "trace_id_from"
        case spanType = "span_type"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try container.decode(.onError, into: &onError)
        try container.decode(.aliases, into: &aliases)
        try container.decode(.map, into: &map)
        try container.decode(.drop, into: &drop)
        traceIDFrom = try container.decodeIfPresent(String.self, forKey: .traceIDFrom)
        spanType = try container.decodeIfPresent(SpanType.self, forKey: .spanType)
    }

    /// The options, for each parser's documentation.
    public static let options = [
        PluginOption("aliases", "bool", default: "true",
                     "Map common field names to span fields and gen_ai.* attributes (see the alias table)."),
        PluginOption("map", "mapping of field → target", default: "{}",
                     "Your own renames; a target is a span field (trace_id, name, start_time, duration_ms, input, …) or any attribute name."),
        PluginOption("drop", "list of fields", default: "[]", "Fields to leave out of the span."),
        PluginOption("trace_id_from", "field", default: "none",
                     "Derive the trace id from this field (e.g. request_id): records sharing its value form one trace."),
        PluginOption("span_type", SpanType.choices, default: "llm when a model or token counts are present, else span",
                     "The span type of every record."),
        PluginOption("on_error", ParseFailurePolicy.choices, default: "keep",
                     "A line that fails to parse is passed on raw (keep), left out (drop) or written to the dead-letter file (dead_letter); always counted."),
    ]
}
