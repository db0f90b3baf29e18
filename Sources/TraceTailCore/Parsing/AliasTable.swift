/// The built-in alias table: every field name TraceTail maps with no configuration, where it goes, and who writes
/// it. It is declared once, here: `FieldMapper` resolves field names from it, and `markdown` is the README's table
/// (a test keeps the README equal to it), so code and documentation cannot drift.
enum AliasTable {
    /// One row: field names as logs write them (dotted names are flattened nested objects), one target.
    struct Row: Sendable {
        let fields: [String]
        let target: FieldMapper.Target<String>
        /// The names are also matched as the last part of a dotted key at any depth: `usage.prompt_tokens`,
        /// `llm_output.token_usage.prompt_tokens`, `model_parameters.temperature`.
        let nested: Bool
        /// Who writes these names, for the README.
        let writers: String

        init(_ fields: [String], _ target: FieldMapper.Target<String>, nested: Bool = false, _ writers: String) {
            self.fields = fields
            self.target = target
            self.nested = nested
            self.writers = writers
        }
    }

    static let rows: [Row] = [
        // The span itself.
        Row(["msg", "message", "event", "record.message"], .message,
            "most loggers; `event`: structlog; `record.message`: loguru `serialize=True`"),
        Row(["span_name"], .name, "your own span name"),
        Row(["span_type"], .spanType, "your own span type"),
        Row(["trace_id"], .traceID, "OpenTelemetry log bridges, LiteLLM"),
        Row(["span_id", "run_id"], .spanID, "`run_id`: LangChain callbacks"),
        Row(["parent_id", "parent_span_id", "parent_run_id"], .parentSpanID, "`parent_run_id`: LangChain callbacks"),
        Row(["ts", "time", "timestamp", "@timestamp", "asctime", "created", "created_at", "startTime", "record.time.timestamp"],
            .startTime,
            "zap, pino, bunyan, logrus, slog, Docker (`time`), Logstash (`@timestamp`), Python `logging` (`asctime`, `created`), OpenAI (`created`, `created_at`), LiteLLM (`startTime`), loguru"),
        Row(["endTime"], .endTime, "LiteLLM"),
        Row(["latency_ms", "duration_ms"], .duration(1_000_000), "your own timings"),
        Row(["input", "prompt", "prompts", "messages", "inputs"], .input,
            "`messages`: LiteLLM and chat requests; `prompts`, `inputs`: LangChain callbacks"),
        Row(["output", "completion", "response", "choices", "content", "generations", "outputs"], .output,
            "`choices`: OpenAI chat; `output`: OpenAI Responses; `content`: Anthropic; `response`: LiteLLM; `generations`, `outputs`: LangChain callbacks"),
        Row(["cost", "cost_usd", "response_cost", "total_cost"], .cost, "`response_cost`: LiteLLM; `total_cost`: LangChain's OpenAI callback"),
        Row(["error", "err", "exception", "error_str", "record.exception.value", "error_information.error_message"], .error,
            "Go (`error`, `err`), pino and bunyan (`err` objects), structlog (`exception`), LiteLLM, loguru"),
        Row(["stacktrace", "stack", "exc_info", "exc_text", "error_information.traceback"], .stacktrace,
            "zap (`stacktrace`), winston (`stack`), python-json-logger (`exc_info`), LiteLLM"),
        Row(["record.exception.type", "error_information.error_class"], .exceptionType, "loguru, LiteLLM"),
        Row(["level", "levelname", "severity", "record.level.name", "log.level"], .severity(.bunyan),
            "every logger; `levelname`: Python `logging`; `severity`: Google Cloud's structured logs"),
        Row(["levelno", "record.level.no"], .severity(.python), "Python `logging`, loguru"),

        // The GenAI call.
        Row(["model"], .attribute("gen_ai.request.model", .string), "every LLM SDK and gateway"),
        Row(["response_model", "model_name"], .attribute("gen_ai.response.model", .string), nested: true,
            "`llm_output.model_name`: LangChain"),
        Row(["prompt_tokens", "input_tokens"], .attribute("gen_ai.usage.input_tokens", .int), nested: true,
            "OpenAI chat (`usage.prompt_tokens`), OpenAI Responses and Anthropic (`usage.input_tokens`), LiteLLM, LangChain"),
        Row(["completion_tokens", "output_tokens"], .attribute("gen_ai.usage.output_tokens", .int), nested: true,
            "as above"),
        Row(["reasoning_tokens"], .attribute("gen_ai.usage.reasoning.output_tokens", .int), nested: true,
            "OpenAI (`usage.completion_tokens_details.reasoning_tokens`, `usage.output_tokens_details.reasoning_tokens`)"),
        Row(["cached_tokens", "cache_read_input_tokens"], .attribute("gen_ai.usage.cache_read.input_tokens", .int), nested: true,
            "OpenAI (`usage.prompt_tokens_details.cached_tokens`), Anthropic (`usage.cache_read_input_tokens`)"),
        Row(["cache_creation_input_tokens"], .attribute("gen_ai.usage.cache_creation.input_tokens", .int), nested: true,
            "Anthropic"),
        Row(["provider", "vendor", "system", "custom_llm_provider"], .attribute("gen_ai.provider.name", .string),
            "`custom_llm_provider`: LiteLLM"),
        Row(["operation"], .attribute("gen_ai.operation.name", .string), "your own logs"),
        Row(["object"], .operation(.openAIObject), "OpenAI responses logged whole"),
        Row(["type"], .operation(.anthropicType), "Anthropic messages logged whole"),
        Row(["call_type"], .operation(.liteLLMCallType), "LiteLLM"),
        Row(["temperature"], .attribute("gen_ai.request.temperature", .double), nested: true,
            "request parameters, also nested (`model_parameters.temperature`: LiteLLM)"),
        Row(["top_p"], .attribute("gen_ai.request.top_p", .double), nested: true, "as above"),
        Row(["max_tokens", "max_output_tokens"], .attribute("gen_ai.request.max_tokens", .int), nested: true,
            "`max_output_tokens`: OpenAI Responses"),
        Row(["finish_reason", "finish_reasons", "stop_reason"], .attribute("gen_ai.response.finish_reasons", .stringArray),
            "`stop_reason`: Anthropic"),
        Row(["user", "user_id", "end_user"], .attribute("langwatch.user.id", .string), "`end_user`: LiteLLM"),
        Row(["thread_id", "conversation_id"], .attribute("langwatch.thread.id", .string), "your own logs"),
        Row(["customer_id"], .attribute("langwatch.customer.id", .string), "your own logs"),
        Row(["labels", "request_tags"], .attribute("langwatch.labels", .stringArray), "`request_tags`: LiteLLM"),
        Row(["gen_ai.system"], .attribute("gen_ai.provider.name", .string), "older GenAI conventions"),
        Row(["gen_ai.usage.prompt_tokens"], .attribute("gen_ai.usage.input_tokens", .int), "older GenAI conventions"),
        Row(["gen_ai.usage.completion_tokens"], .attribute("gen_ai.usage.output_tokens", .int), "older GenAI conventions"),
        Row(["gen_ai.usage.reasoning_tokens"], .attribute("gen_ai.usage.reasoning.output_tokens", .int), "older GenAI conventions"),
        Row(["gen_ai.openai.request.seed"], .attribute("gen_ai.request.seed", .int), "older GenAI conventions"),

        // The logger that wrote the line: attributes, never the span name.
        Row(["name", "logger", "logger_name", "record.name", "log.logger"], .attribute("logger.name", .string),
            "bunyan, pino, python-json-logger (`name`), zap, structlog (`logger`), loguru"),
        Row(["caller", "pathname", "filename", "file", "record.file.path", "source.file", "src.file"], .caller,
            "zap and go-kit (`caller`), logrus (`file`), Python `logging`, slog (`source`), bunyan (`src`), loguru"),
        Row(["pid", "process", "record.process.id"], .attribute("process.pid", .int), "pino, bunyan, Python `logging` (`process`), loguru"),
        Row(["hostname"], .attribute("host.name", .string), "pino, bunyan"),
        Row(["thread"], .thread, "Python `logging` (a number: `thread.id`), Java loggers (a name: `thread.name`)"),
        Row(["threadName", "thread_name", "record.thread.name"], .attribute("thread.name", .string), "Python `logging`, loguru"),
        Row(["record.thread.id"], .attribute("thread.id", .int), "loguru"),
        Row(["module", "record.module"], .attribute("code.namespace", .string), "Python `logging`, loguru"),
        Row(["funcName", "func", "function", "record.function", "source.function", "src.func"],
            .attribute("code.function.name", .string), "Python `logging`, logrus, slog (`source`), bunyan (`src`), loguru"),
        Row(["lineno", "line", "record.line", "source.line", "src.line"], .attribute("code.line.number", .int), "as above"),
    ]

    /// The README's alias table, in Markdown.
    static var markdown: String {
        var text = "| log field | becomes | written by |\n|---|---|---|\n"
        for row in rows {
            var names = row.fields.map { "`\($0)`" }.joined(separator: ", ")
            if row.nested { names += " (also nested)" }
            text += "| \(names) | \(row.target.summary) | \(row.writers) |\n"
        }
        return text
    }
}

extension FieldMapper.Target where Name == String {
    /// What the target is, in the README's words.
    var summary: String {
        switch self {
        case .attribute(let name, let coercion): return "`\(name)`" + coercion.summary
        case .traceID, .spanID, .parentSpanID:
            return "the span's \(self == .traceID ? "trace" : self == .spanID ? "span" : "parent span") id: W3C hex as it is, anything else hashed into a valid id"
        case .name: return "the span name"
        case .message: return "the span name, unless operation and model give `{operation} {model}` (then attribute `message`)"
        case .startTime: return "start time: RFC 3339 / ISO 8601 (`T` or space, `.` or `,` fractions, `Z`, `UTC`, offsets), RFC 1123, epoch s/ms/µs/ns by magnitude; unreadable: `tracetail.time_unparsed`"
        case .endTime: return "end time, read like the start time"
        case .duration(let unit): return "end time = start + duration (\(unit == 1_000_000 ? "ms" : "\(unit) ns"))"
        case .input: return "span input (text, or JSON such as chat messages)"
        case .output: return "span output (text or JSON)"
        case .error: return "error status with `exception.type`/`message`/`stacktrace`; `\"\"`, `false`, `0`, `[]`, `{}`, `nil` are no error; `true` takes the message from elsewhere"
        case .stacktrace: return "`exception.stacktrace` and the status' stack trace; a Python traceback or `Type: message` first line gives `exception.type` and `exception.message`"
        case .cost: return "the span cost (USD)"
        case .spanType: return "span type"
        case .severity(let scale):
            return "`log.severity_text` (TRACE … FATAL) and `log.severity_number` (OpenTelemetry 1–24)\(scale.summary); ERROR and above make the status an error"
        case .caller: return "`code.file.path`, and `code.line.number` when it ends in `:42`"
        case .exceptionType: return "`exception.type`"
        case .thread: return "`thread.id` (a number) or `thread.name`"
        case .operation(let values): return "`gen_ai.operation.name` when \(values.summary); other values stay as they are"
        }
    }
}

extension FieldMapper.Coercion {
    var summary: String {
        switch self {
        case .int: return " (int)"
        case .double: return " (double)"
        case .bool: return " (bool)"
        case .stringArray: return " (string array)"
        case .string, .asIs: return ""
        }
    }
}
