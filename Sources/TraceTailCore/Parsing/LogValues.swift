/// Log levels as OpenTelemetry severity numbers (1–24: TRACE 1–4, DEBUG 5–8, INFO 9–12, WARN 13–16, ERROR 17–20,
/// FATAL 21–24), from the words and numbers loggers write.
enum LogSeverity {
    /// How a numeric level reads.
    enum Scale: UInt8, Sendable {
        /// bunyan and pino: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal.
        case bunyan
        /// Python `logging` and loguru: 5 trace, 10 debug, 20 info, 25 success, 30 warning, 40 error, 50 critical.
        case python

        var summary: String {
            switch self {
            case .bunyan: return "; numbers on bunyan's and pino's scale (10 trace, 30 info, 50 error, 60 fatal)"
            case .python: return "; numbers on Python's scale (10 debug, 20 info, 40 error, 50 critical)"
            }
        }
    }

    /// The lowest number that makes a span's status an error.
    static let error: UInt8 = 17

    /// Level words by the casings loggers write them (`info`, `INFO`, `Info`).
    private static let words: ByteKeyTable<UInt8> = {
        let numbers: [(String, UInt8)] = [
            ("trace", 1), ("silly", 1), ("debug", 5), ("verbose", 6), ("http", 7), ("info", 9), ("information", 9),
            ("informational", 9), ("notice", 10), ("success", 11), ("warn", 13), ("warning", 13), ("error", 17),
            ("err", 17), ("dpanic", 18), ("critical", 21), ("crit", 21), ("fatal", 21), ("panic", 22), ("alert", 23),
            ("emerg", 24), ("emergency", 24),
        ]
        return ByteKeyTable(numbers.flatMap { word, number in
            Set([word, word.uppercased(), word.prefix(1).uppercased() + word.dropFirst()]).map { ($0, number) }
        })
    }()

    /// The severity number of a level, or nil when it is no level this knows.
    static func number(_ value: RawValue, _ scale: Scale) -> UInt8? {
        switch value {
        case .int(let level): return number(level, scale)
        case .text(let bytes), .inferred(let bytes):
            if let number = words[bytes] { return number }
            return ByteNumbers.integer(bytes).flatMap { number($0, scale) }
        default: return nil
        }
    }

    private static func number(_ level: Int64, _ scale: Scale) -> UInt8? {
        switch (scale, level) {
        case (.bunyan, 10..<70): return UInt8(level / 10 - 1) * 4 + 1 // 10 → 1 (TRACE) … 60 → 21 (FATAL)
        case (.python, 5..<10): return 1
        case (.python, 10..<20): return 5
        case (.python, 20..<25): return 9
        case (.python, 25..<30): return 11
        case (.python, 30..<60): return UInt8(level / 10 - 3) * 4 + 13 // 30 → 13 (WARN) … 50 → 21 (FATAL)
        default: return nil
        }
    }

    private static let names = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]

    /// OpenTelemetry's short name for a severity number (per record: no array is built for it).
    static func text(_ number: UInt8) -> String {
        names[Int(min(max(number, 1), 24) - 1) / 4]
    }
}

/// Values that tell the GenAI operation of an SDK response logged whole.
enum OperationValues: UInt8, Sendable {
    /// OpenAI's `object`: `chat.completion`, `chat.completion.chunk`, `response` (Responses API), `text_completion`.
    case openAIObject
    /// Anthropic's `type`: `message`.
    case anthropicType
    /// LiteLLM's `call_type`: `completion`, `acompletion`, `embedding`, `aembedding`, `text_completion`, ….
    case liteLLMCallType

    private var table: [(value: StaticString, operation: String)] {
        switch self {
        case .openAIObject:
            return [("chat.completion", "chat"), ("chat.completion.chunk", "chat"), ("response", "chat"),
                    ("text_completion", "text_completion")]
        case .anthropicType: return [("message", "chat")]
        case .liteLLMCallType:
            return [("completion", "chat"), ("acompletion", "chat"), ("embedding", "embeddings"), ("aembedding", "embeddings"),
                    ("text_completion", "text_completion"), ("atext_completion", "text_completion")]
        }
    }

    /// The operation a value tells, or nil.
    func operation(_ value: RawValue) -> String? {
        guard let bytes = value.bytes else { return nil }
        return table.first { ByteNumbers.equals(bytes, $0.value) }?.operation
    }

    var summary: String {
        table.map { "`\($0.value)` → `\($0.operation)`" }.joined(separator: ", ")
    }
}

/// What a stack trace tells of its exception: the type and message of a Python traceback's last line, or of the
/// `Type: message` first line of a JavaScript, Java or .NET trace.
enum ExceptionText {
    static func summary(_ lines: [String]) -> (type: String, message: String)? {
        guard let first = lines.first else { return nil }
        if first.hasPrefix("Traceback (most recent call last)") {
            guard let last = lines.last(where: { !($0.first?.isWhitespace ?? true) && !$0.hasPrefix("Traceback") }) else { return nil }
            return split(last) // `KeyboardInterrupt` has no message
        }
        guard first.contains(":"), lines.count > 1 || looksLikeExceptionName(first.prefix { $0 != ":" }) else { return nil }
        return split(first)
    }

    /// `ValueError: bad input` → (`ValueError`, `bad input`); nil unless the part before `:` is a type's name.
    private static func split(_ line: String) -> (type: String, message: String)? {
        let type = line.prefix { $0 != ":" }
        guard let head = type.first, head.isLetter || head == "_",
              type.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "$" }) else { return nil }
        let rest = line.dropFirst(type.count).drop { $0 == ":" || $0 == " " }
        return (String(type), String(rest))
    }

    /// A single line names an exception only when its type reads like one.
    private static func looksLikeExceptionName(_ name: Substring) -> Bool {
        ["Error", "Exception", "Exit", "Interrupt", "Warning"].contains { name.hasSuffix($0) }
    }
}
