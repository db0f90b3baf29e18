/// A span's input and output as the GenAI conventions' messages: `gen_ai.input.messages` and
/// `gen_ai.output.messages` are arrays of `{"role", "parts": [part…]}` (an output message also has its
/// `finish_reason`), `gen_ai.system_instructions` an array of parts. Parts: `{"type": "text", "content"}`,
/// `{"type": "tool_call", "id", "name", "arguments"}`, `{"type": "tool_call_response", "id", "response"}`,
/// `{"type": "reasoning", "content"}`; a content block of another type is kept as it is (a generic part).
///
/// Read from what logs hold: plain text; OpenAI chat messages (`content` text or parts, `tool_calls` with JSON-text
/// arguments, `tool` messages with `tool_call_id`) and `choices`; OpenAI Responses items (`message`,
/// `function_call`, `function_call_output`, `output_text`); Anthropic messages and content blocks (`text`,
/// `tool_use`, `tool_result`, `thinking`) with a separate `system`. Anything else gives no messages (nil).
enum GenAIMessages {
    /// Input messages, and system instructions given apart from them (`{"system" | "instructions", "messages" |
    /// "input"}`); plain text is one user message.
    static func input(_ payload: SpanPayload) -> (messages: JSONValue?, system: JSONValue?) {
        switch payload {
        case .text(let text): return (.array([message("user", [textPart(text)])]), nil)
        case .json(let value): return input(value)
        }
    }

    private static func input(_ value: JSONValue) -> (messages: JSONValue?, system: JSONValue?) {
        switch value {
        case .string(let text): return (.array([message("user", [textPart(text)])]), nil)
        case .array(let items):
            var messages: [JSONValue] = []
            for item in items {
                switch item {
                case .string(let text): messages.append(message("user", [textPart(text)])) // prompts
                case .object: if let read = chatMessage(item) { messages.append(read) }
                default: break
                }
            }
            return (messages.isEmpty ? nil : .array(messages), nil)
        case .object:
            guard let inner = value["messages"] ?? value["input"] ?? value["prompt"] else {
                return (chatMessage(value).map { .array([$0]) }, nil)
            }
            let system = (value["system"] ?? value["instructions"]).flatMap { instructions -> JSONValue? in
                let parts = self.parts(instructions)
                return parts.isEmpty ? nil : .array(parts)
            }
            return (input(inner).messages, system)
        default: return (nil, nil)
        }
    }

    /// Output messages, one per choice; `finishReason` (the span's first finish reason) stands in where a choice
    /// gives none.
    static func output(_ payload: SpanPayload, finishReason: String?) -> JSONValue? {
        switch payload {
        case .text(let text): return .array([outputMessage("assistant", [textPart(text)], finishReason)])
        case .json(let value): return output(value, finishReason)
        }
    }

    private static func output(_ value: JSONValue, _ finishReason: String?) -> JSONValue? {
        switch value {
        case .string(let text): return .array([outputMessage("assistant", [textPart(text)], finishReason)])
        case .object:
            if let choices = value["choices"] { return output(choices, finishReason) }
            if let output = value["output"], output.items != nil { return self.output(output, finishReason) }
            let reason = value["stop_reason"]?.text ?? finishReason
            if let message = value["message"] { return output(.array([message]), value["finish_reason"]?.text ?? reason) }
            guard let read = chatMessage(value) else { return nil }
            return .array([finished(read, reason)])
        case .array(let items):
            // Choices (each a message with its finish reason), messages, or the content blocks (or Responses
            // output items, `message` and `function_call`) of one message.
            if items.contains(where: { $0["message"] != nil || $0["role"] != nil && $0["type"] == nil }) {
                let messages = items.compactMap { item -> JSONValue? in
                    let reason = item["finish_reason"]?.text ?? finishReason
                    return chatMessage(item["message"] ?? item).map { finished($0, reason) }
                }
                return messages.isEmpty ? nil : .array(messages)
            }
            let parts = items.flatMap { item -> [JSONValue] in item.items.map { $0.flatMap(part) } ?? part(item) }
            return parts.isEmpty ? nil : .array([outputMessage("assistant", parts, finishReason)])
        default: return nil
        }
    }

    // MARK: Messages and parts

    /// One message as the conventions write it, or nil when the object is no message.
    private static func chatMessage(_ value: JSONValue) -> JSONValue? {
        switch value["type"]?.text {
        case "function_call"?: return message("assistant", part(value))                    // Responses items
        case "function_call_output"?: return message("tool", part(value))
        default: break
        }
        guard case .string(let role)? = value["role"] else { return nil }
        var parts: [JSONValue] = []
        if role == "tool", let id = value["tool_call_id"]?.text {
            parts.append(.object([("type", .string("tool_call_response")), ("id", .string(id)),
                                  ("response", value["content"].map(responseText) ?? .null)]))
        } else if let content = value["content"] {
            parts = self.parts(content)
        }
        for call in value["tool_calls"]?.items ?? [] { parts += part(call) }
        var members: [(key: String, value: JSONValue)] = [("role", .string(role)), ("parts", .array(parts))]
        if case .string(let name)? = value["name"] { members.append(("name", .string(name))) }
        return .object(members)
    }

    /// A message's content as parts: text, or a list of content blocks.
    private static func parts(_ content: JSONValue) -> [JSONValue] {
        switch content {
        case .string(let text): return [textPart(text)]
        case .array(let blocks): return blocks.flatMap(part)
        case .object: return part(content)
        default: return []
        }
    }

    /// One content block (or tool call) as parts.
    private static func part(_ block: JSONValue) -> [JSONValue] {
        if case .string(let text) = block { return [textPart(text)] }
        guard case .object = block else { return [] }
        if let function = block["function"] {                                                // OpenAI tool_calls
            return [toolCall(block["id"], function["name"], function["arguments"])]
        }
        switch block["type"]?.text {
        case "text"?, "input_text"?, "output_text"?:
            return block["text"]?.text.map { [textPart($0)] } ?? []
        case "tool_use"?: return [toolCall(block["id"], block["name"], block["input"])]   // Anthropic
        case "function_call"?: return [toolCall(block["call_id"] ?? block["id"], block["name"], block["arguments"])]
        case "tool_result"?:
            return [.object([("type", .string("tool_call_response")), ("id", block["tool_use_id"] ?? .null),
                             ("response", block["content"].map(responseText) ?? .null)])]
        case "function_call_output"?:
            return [.object([("type", .string("tool_call_response")), ("id", block["call_id"] ?? .null),
                             ("response", block["output"] ?? .null)])]
        case "thinking"?, "reasoning"?:
            guard let text = (block["thinking"] ?? block["text"])?.text else { return [] }
            return [.object([("type", .string("reasoning")), ("content", .string(text))])]
        case "message"?: return block["content"].map(parts) ?? []                          // Responses output
        case nil: return block["text"]?.text.map { [textPart($0)] } ?? []                  // LangChain generations
        default: return [block]
        }
    }

    private static func toolCall(_ id: JSONValue?, _ name: JSONValue?, _ arguments: JSONValue?) -> JSONValue {
        // Arguments are an object; OpenAI sends them as JSON text.
        var arguments = arguments ?? .null
        if case .string(let text) = arguments, let parsed = try? JSONReader.parse(Array(text.utf8)) { arguments = parsed }
        return .object([("type", .string("tool_call")), ("id", id ?? .null), ("name", name ?? .string("")),
                        ("arguments", arguments)])
    }

    /// A tool result's content: text as it is, a list of text blocks as their joined text.
    private static func responseText(_ content: JSONValue) -> JSONValue {
        guard let blocks = content.items else { return content }
        let texts = blocks.compactMap { $0["text"]?.text }
        return texts.count == blocks.count ? .string(texts.joined(separator: "\n")) : content
    }

    private static func textPart(_ text: String) -> JSONValue {
        .object([("type", .string("text")), ("content", .string(text))])
    }

    private static func message(_ role: String, _ parts: [JSONValue]) -> JSONValue {
        .object([("role", .string(role)), ("parts", .array(parts))])
    }

    private static func outputMessage(_ role: String, _ parts: [JSONValue], _ reason: String?) -> JSONValue {
        finished(message(role, parts), reason)
    }

    /// A message with its finish reason (required on output messages): the provider's word in the conventions'
    /// terms (`stop`, `length`, `content_filter`, `tool_call`, `error`), `tool_call` or `stop` when none is known.
    private static func finished(_ message: JSONValue, _ reason: String?) -> JSONValue {
        guard case .object(var members) = message else { return message }
        let calls = message["parts"]?.items?.contains { $0["type"]?.text == "tool_call" } ?? false
        let finish: String
        switch reason {
        case "tool_calls"?, "tool_use"?, "function_call"?: finish = "tool_call"
        case "end_turn"?, "stop_sequence"?: finish = "stop"
        case "max_tokens"?, "max_output_tokens"?: finish = "length"
        case let reason?: finish = reason
        case nil: finish = calls ? "tool_call" : "stop"
        }
        members.append(("finish_reason", .string(finish)))
        return .object(members)
    }
}
