#if canImport(Glibc)
import Glibc
#endif

/// What the OTLP outputs send for a span besides its ids and times: the record's attributes, then those of the
/// conventions chosen (`SpanConventions`), in one place so that the OTLP JSON and protobuf encodings cannot drift
/// apart. Work beyond the record's attributes is proportional to what the record holds: messages are converted only
/// for a record with an input or output.
public enum SpanAttributes {
    /// Hands over the span's attributes in the order they are sent, without building a list. Inlined into each
    /// encoder, so that `body` is no closure call per attribute.
    @inline(__always)
    public static func forEach(_ record: Record, _ conventions: SpanConventions = .standard,
                               _ body: (String, AttributeValue) -> Void) {
        var found = Found()
        let entries = record.attributes.entries
        for index in entries.indices { // by index: the entries are borrowed, not copied
            let key = entries[index].key
            // LangWatch's labels are sent in its own shape, below.
            if case .labels? = found.note(key, entries[index].value), conventions.contains(.langwatch) { continue }
            body(key, entries[index].value)
        }
        if conventions.contains(.genai) { genAI(record, found, body) }
        if conventions.contains(.langwatch) { langWatch(record, found, body) }
        if conventions.contains(.openinference) { openInference(record, found, body) }
        if case .error(let message, _) = record.status { body("error.message", .string(message)) }
    }

    /// The attributes the conventions read, found in the one pass over the record's attributes.
    struct Found {
        var operation: String?
        var model: AttributeValue?
        var responseModel: AttributeValue?
        var provider: AttributeValue?
        var inputTokens: Int64?
        var outputTokens: Int64?
        var finishReason: String?
        var conversation: AttributeValue?
        var threadID = false
        var labels: AttributeValue?
        var extra: [(key: String, value: AttributeValue)] = []

        /// What a key the conventions read is. Found on the key's bytes in a `ByteKeyTable`: `String.hasPrefix` and a
        /// `switch` over strings cost about 400 instructions per attribute of every span sent, a `Dictionary`'s
        /// SipHash about 300 per noted key (callgrind).
        enum Noted {
            case operation, model, responseModel, provider, inputTokens, outputTokens, finishReasons, conversation,
                 threadID, labels
            /// A GenAI attribute OpenInference names otherwise.
            case openInference(String)
        }

        static let noted = ByteKeyTable<Noted>([
            (GenAIOperation.attribute, .operation),
            ("gen_ai.request.model", .model),
            ("gen_ai.response.model", .responseModel),
            ("gen_ai.provider.name", .provider),
            ("gen_ai.usage.input_tokens", .inputTokens),
            ("gen_ai.usage.output_tokens", .outputTokens),
            ("gen_ai.response.finish_reasons", .finishReasons),
            ("gen_ai.conversation.id", .conversation),
            ("langwatch.thread.id", .threadID),
            ("langwatch.labels", .labels),
            ("gen_ai.usage.cache_read.input_tokens", .openInference("llm.token_count.prompt_details.cache_read")),
            ("gen_ai.usage.cache_creation.input_tokens", .openInference("llm.token_count.prompt_details.cache_write")),
            ("gen_ai.usage.reasoning.output_tokens", .openInference("llm.token_count.completion_details.reasoning")),
            ("langwatch.user.id", .openInference("user.id")),
            ("gen_ai.tool.name", .openInference("tool.name")),
            ("gen_ai.tool.call.id", .openInference("tool.id")),
            ("gen_ai.agent.name", .openInference("agent.name")),
        ])

        /// Takes note of an attribute the conventions read; returns what it is, nil for any other.
        @discardableResult
        mutating func note(_ key: String, _ value: AttributeValue) -> Noted? {
            var key = key
            guard let noted = key.withUTF8({ Self.startsLikeNoted($0) ? Self.noted[UnsafeRawBufferPointer($0)] : nil }) else {
                return nil
            }
            note(noted, value)
            return noted
        }

        private mutating func note(_ noted: Noted, _ value: AttributeValue) {
            switch noted {
            case .operation: if case .string(let text) = value { operation = text }
            case .model: model = value
            case .responseModel: responseModel = value
            case .provider: provider = value
            case .inputTokens: if case .int(let count) = value { inputTokens = count }
            case .outputTokens: if case .int(let count) = value { outputTokens = count }
            case .finishReasons:
                if case .array(let reasons) = value, case .string(let first)? = reasons.first { finishReason = first }
            case .conversation: conversation = value
            case .threadID: threadID = true
            case .labels: labels = value
            case .openInference(let name): extra.append((name, value))
            }
        }

        /// Whether a key's bytes start with `gen_ai.` or `langwatch.` (most keys do not: no table lookup for them).
        static func startsLikeNoted(_ key: UnsafeBufferPointer<UInt8>) -> Bool {
            func starts(_ prefix: StaticString) -> Bool {
                key.count > prefix.utf8CodeUnitCount && memcmp(key.baseAddress!, prefix.utf8Start, prefix.utf8CodeUnitCount) == 0
            }
            return starts("gen_ai.") || starts("langwatch.")
        }
    }

    /// The GenAI conventions: the operation derived from the span type when missing, messages, a tool's arguments
    /// and result.
    private static func genAI(_ record: Record, _ found: Found, _ body: (String, AttributeValue) -> Void) {
        var operation = found.operation
        if operation == nil, let derived = GenAIOperation.operation(of: record.type, input: record.input) {
            operation = derived
            body(GenAIOperation.attribute, .string(derived))
        }
        guard record.input != nil || record.output != nil else { return }
        switch operation.flatMap(GenAIOperation.spanType) ?? record.type {
        case .llm?, .agent?:
            if let input = record.input {
                let read = GenAIMessages.input(input)
                if let system = read.system { body("gen_ai.system_instructions", .string(JSONFlattener.text(system))) }
                if let messages = read.messages { body("gen_ai.input.messages", .string(JSONFlattener.text(messages))) }
            }
            if let output = record.output, let messages = GenAIMessages.output(output, finishReason: found.finishReason) {
                body("gen_ai.output.messages", .string(JSONFlattener.text(messages)))
            }
        case .tool?:
            if let input = record.input { body("gen_ai.tool.call.arguments", .string(SpanJSON.text(input))) }
            if let output = record.output { body("gen_ai.tool.call.result", .string(SpanJSON.text(output))) }
        default: break
        }
    }

    /// LangWatch's own attributes.
    private static func langWatch(_ record: Record, _ found: Found, _ body: (String, AttributeValue) -> Void) {
        body("langwatch.span.type", .string((record.type ?? .span).rawValue))
        if let labels = found.labels {
            // LangWatch reads labels as a JSON array in a string.
            var writer = JSONWriter()
            SpanJSON.attribute(labels, &writer)
            body("langwatch.labels", .string(writer.text))
        }
        if let conversation = found.conversation, !found.threadID { body("langwatch.thread.id", conversation) }
        if let input = record.input { body("langwatch.input", .string(TypedValue.json(input))) }
        if let output = record.output { body("langwatch.output", .string(TypedValue.json(output))) }
        if let cost = record.cost { body("langwatch.span.cost", .double(cost)) }
    }

    /// OpenInference's attributes (what Arize Phoenix reads first).
    private static func openInference(_ record: Record, _ found: Found, _ body: (String, AttributeValue) -> Void) {
        body("openinference.span.kind", .string(openInferenceKind(record, found.operation)))
        func value(_ name: String, _ payload: SpanPayload?) {
            guard let payload else { return }
            body(name + ".value", .string(SpanJSON.text(payload)))
            if case .json = payload { body(name + ".mime_type", .string("application/json")) } else { body(name + ".mime_type", .string("text/plain")) }
        }
        value("input", record.input)
        value("output", record.output)
        if let model = found.responseModel ?? found.model { body("llm.model_name", model) }
        if let provider = found.provider { body("llm.provider", provider) }
        if let count = found.inputTokens { body("llm.token_count.prompt", .int(count)) }
        if let count = found.outputTokens { body("llm.token_count.completion", .int(count)) }
        if let input = found.inputTokens, let output = found.outputTokens {
            body("llm.token_count.total", .int(input.addingReportingOverflow(output).partialValue))
        }
        if let cost = record.cost { body("llm.cost.total", .double(cost)) }
        if let conversation = found.conversation { body("session.id", conversation) }
        for (name, value) in found.extra { body(name, value) }
    }

    /// OpenInference's span kind: LLM, EMBEDDING, TOOL, AGENT, RETRIEVER, GUARDRAIL, EVALUATOR, else CHAIN (a step
    /// of the app's own).
    static func openInferenceKind(_ record: Record, _ operation: String?) -> String {
        if operation == "embeddings" { return "EMBEDDING" }
        switch operation.flatMap(GenAIOperation.spanType) ?? record.type {
        case .llm?: return "LLM"
        case .tool?: return "TOOL"
        case .agent?: return "AGENT"
        case .rag?: return "RETRIEVER"
        case .guardrail?: return "GUARDRAIL"
        case .evaluation?: return "EVALUATOR"
        case .unknown?: return "UNKNOWN"
        default: return "CHAIN"
        }
    }

    /// OTLP span kind as the conventions say: CLIENT for calls to a model or retrieval service (and `client` spans),
    /// SERVER, PRODUCER and CONSUMER for spans of those types, INTERNAL for tools, agents and chain steps that run
    /// in the app's process.
    public static func kind(_ record: Record) -> Int {
        switch record.type {
        case .llm?, .rag?, .client?: return 3
        case .server?: return 2
        case .producer?: return 4
        case .consumer?: return 5
        default: return 1
        }
    }
}

/// LangWatch's TypedValue (`{"type": …, "value": …}`) for a span input or output.
public enum TypedValue {
    /// Writes the TypedValue: text as `text`, a list of `{role, content}` objects as `chat_messages`, other JSON
    /// as `json`.
    public static func write(_ payload: SpanPayload, _ writer: inout JSONWriter) {
        writer.object { typed in
            switch payload {
            case .text(let text):
                typed.string("type", "text")
                typed.string("value", text)
            case .json(let value):
                typed.string("type", isChat(value) ? "chat_messages" : "json")
                typed.value("value", value)
            }
        }
    }

    /// The TypedValue as JSON text.
    public static func json(_ payload: SpanPayload) -> String {
        var writer = JSONWriter()
        write(payload, &writer)
        return writer.text
    }

    /// An array of objects that each have a string `role`.
    public static func isChat(_ value: JSONValue) -> Bool {
        guard case .array(let items) = value, !items.isEmpty else { return false }
        return items.allSatisfy { if case .string? = $0["role"] { true } else { false } }
    }
}
