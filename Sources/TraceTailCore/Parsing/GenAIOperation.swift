/// The operations of the OpenTelemetry GenAI semantic conventions (`gen_ai.operation.name`) as TraceTail relates
/// them to span types, span names and OTLP span kinds. Conventions followed: see the README ("GenAI conventions").
enum GenAIOperation {
    static let attribute = "gen_ai.operation.name"

    /// The operation a span of this type performs when the log names none: an `llm` span is `chat`, or
    /// `text_completion` when its input is one plain text (a prompt, not messages); `tool` → `execute_tool`,
    /// `agent` → `invoke_agent`, `rag` → `retrieval`, `workflow` → `invoke_workflow`. Other types (`chain`, `span`,
    /// …) have no GenAI operation.
    static func operation(of type: SpanType?, input: SpanPayload?) -> String? {
        switch type {
        case .llm?:
            switch input {
            case .text?, .json(.string)?: return "text_completion"
            default: return "chat"
            }
        case .tool?: return "execute_tool"
        case .agent?: return "invoke_agent"
        case .rag?: return "retrieval"
        case .workflow?: return "invoke_workflow"
        default: return nil
        }
    }

    /// The span type of an operation the log names, or nil for one the conventions do not define.
    static func spanType(_ operation: String) -> SpanType? {
        switch operation {
        case "chat", "text_completion", "generate_content", "embeddings": return .llm
        case "execute_tool": return .tool
        case "invoke_agent", "create_agent", "plan": return .agent
        case "retrieval": return .rag
        case "invoke_workflow": return .workflow
        default: return nil
        }
    }

    /// The attribute whose value follows the operation in a span name, `{operation} {subject}`: the model of an
    /// inference, the tool of `execute_tool`, the agent of `invoke_agent`, the data source of `retrieval`.
    static func subject(_ operation: String) -> String? {
        switch operation {
        case "chat", "text_completion", "generate_content", "embeddings": return "gen_ai.request.model"
        case "execute_tool": return "gen_ai.tool.name"
        case "invoke_agent", "create_agent", "plan": return "gen_ai.agent.name"
        case "retrieval": return "gen_ai.data_source.id"
        case "invoke_workflow": return "gen_ai.workflow.name"
        default: return nil
        }
    }

    /// The span's name when the log gives none of its own: `{operation} {subject}` (`chat gpt-4o`,
    /// `execute_tool send_email`), or nil when the operation or its subject is unknown.
    static func spanName(_ attributes: Attributes) -> String? {
        guard case .string(let operation)? = attributes[attribute], let subject = subject(operation),
              case .string(let value)? = attributes[subject], !value.isEmpty else { return nil }
        return "\(operation) \(value)"
    }
}
