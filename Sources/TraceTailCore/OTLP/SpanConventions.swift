/// Which conventions' attributes an OTLP output writes besides the record's own (`conventions: [genai, langwatch]`,
/// the default): each fact once per convention chosen, none written twice under one convention.
///
/// - `genai`: the OpenTelemetry GenAI conventions — `gen_ai.operation.name` derived from the span type when missing,
///   chat messages as `gen_ai.input.messages`, `gen_ai.system_instructions`, `gen_ai.output.messages` (JSON text),
///   a tool's input and output as `gen_ai.tool.call.arguments` / `gen_ai.tool.call.result`.
/// - `langwatch`: `langwatch.span.type`, `langwatch.input`/`output` (TypedValue JSON), `langwatch.span.cost`,
///   `langwatch.labels` (a JSON array in a string), `langwatch.thread.id`.
/// - `openinference`: `openinference.span.kind`, `input.value`/`output.value` with their MIME types, and the simple
///   `llm.*` ones (model, provider, token counts, cost), `session.id`, `user.id`, `tool.name`, `agent.name`.
public struct SpanConventions: OptionSet, Sendable, Hashable, Decodable {
    public enum Name: String, ConfigChoice {
        case genai, langwatch, openinference
    }

    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let genai = SpanConventions(rawValue: 1)
    public static let langwatch = SpanConventions(rawValue: 2)
    public static let openinference = SpanConventions(rawValue: 4)
    /// What an output writes unless configured otherwise.
    public static let standard: SpanConventions = [.genai, .langwatch]

    public init(_ names: [Name]) {
        self = []
        for name in names {
            switch name {
            case .genai: insert(.genai)
            case .langwatch: insert(.langwatch)
            case .openinference: insert(.openinference)
            }
        }
    }

    /// A list of names, e.g. `[genai, openinference]`.
    public init(from decoder: any Decoder) throws {
        self.init(try [Name](from: decoder))
    }
}
