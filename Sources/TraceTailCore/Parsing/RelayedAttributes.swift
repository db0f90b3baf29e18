extension Record {
    /// Sets one attribute of a span that arrived as a span (the webhook's OTLP relay), reading the names of older
    /// conventions as today's (`AliasTable.current`, the rows the parsers read too): `gen_ai.system` becomes
    /// `gen_ai.provider.name`, `llm.token_count.prompt` `gen_ai.usage.input_tokens`, `input.value` / `gen_ai.prompt`
    /// the span's input (JSON text as JSON), `openinference.span.kind` its type. A span's value under the current name
    /// wins whichever of the two comes first; a value that does not fit its target stays under its own name.
    public mutating func setAttribute(reading key: String, _ value: AttributeValue) {
        guard let target = AliasTable.current(key) else { return attributes[key] = value }
        switch (target, value) {
        case (.attribute(let name, _), _):
            if attributes[name] == nil { attributes[name] = value }
        case (.input, .string(let text)):
            if input == nil { input = FieldMapper.payload(.string(text)) }
        case (.output, .string(let text)):
            if output == nil { output = FieldMapper.payload(.string(text)) }
        case (.spanType, .string(let text)):
            guard let read = SpanType.reading(text) else { return attributes[key] = value }
            if type == nil { type = read.type }
            if let operation = read.operation, attributes[GenAIOperation.attribute] == nil {
                attributes[GenAIOperation.attribute] = .string(operation)
            }
        case (.operation(let values), .string(let text)):
            guard let operation = values.operation(text) else { return attributes[key] = value }
            if attributes[GenAIOperation.attribute] == nil { attributes[GenAIOperation.attribute] = .string(operation) }
        default:
            attributes[key] = value
        }
    }
}
