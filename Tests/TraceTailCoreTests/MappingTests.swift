import Testing
import TestSupport
@testable import TraceTailCore

/// Maps one record from the given fields.
func mapped(_ fields: [(String, FieldValue)], settings: ParserSettings = ParserSettings(), observed: UInt64 = 1_000) -> Record {
    var record = Record(raw: 0..<0, position: SourcePosition(source: "t", offsets: 0..<1), observedTime: observed)
    FieldMapper(settings).map(&record) { (sink: inout FieldMapper.Fields) in
        for (key, value) in fields { sink.add(key, value) }
    }
    return record
}

@Suite struct AliasTests {
    @Test(arguments: [
        ("model", FieldValue.string("gpt-4o"), "gen_ai.request.model", AttributeValue.string("gpt-4o")),
        ("response_model", .string("gpt-4o-2024"), "gen_ai.response.model", .string("gpt-4o-2024")),
        ("prompt_tokens", .int(18), "gen_ai.usage.input_tokens", .int(18)),
        ("input_tokens", .string("18"), "gen_ai.usage.input_tokens", .int(18)),
        ("completion_tokens", .double(5), "gen_ai.usage.output_tokens", .int(5)),
        ("output_tokens", .string("5.0"), "gen_ai.usage.output_tokens", .int(5)),
        ("reasoning_tokens", .int(7), "gen_ai.usage.reasoning.output_tokens", .int(7)),
        ("provider", .string("openai"), "gen_ai.provider.name", .string("openai")),
        ("vendor", .string("anthropic"), "gen_ai.provider.name", .string("anthropic")),
        ("system", .string("mistral_ai"), "gen_ai.provider.name", .string("mistral_ai")),
        ("operation", .string("chat"), "gen_ai.operation.name", .string("chat")),
        ("temperature", .int(1), "gen_ai.request.temperature", .double(1)),
        ("temperature", .string("0.7"), "gen_ai.request.temperature", .double(0.7)),
        ("max_tokens", .string("256"), "gen_ai.request.max_tokens", .int(256)),
        ("top_p", .double(0.9), "gen_ai.request.top_p", .double(0.9)),
        ("finish_reason", .string("stop"), "gen_ai.response.finish_reasons", .array([.string("stop")])),
        ("finish_reasons", .json(#"["stop","length"]"#), "gen_ai.response.finish_reasons", .array([.string("stop"), .string("length")])),
        ("user", .string("u-1"), "langwatch.user.id", .string("u-1")),
        ("user_id", .int(42), "langwatch.user.id", .string("42")),
        ("thread_id", .string("th-7"), "langwatch.thread.id", .string("th-7")),
        ("conversation_id", .string("c-9"), "langwatch.thread.id", .string("c-9")),
        ("customer_id", .string("acme"), "langwatch.customer.id", .string("acme")),
        ("labels", .json(#"["a","b"]"#), "langwatch.labels", .array([.string("a"), .string("b")])),
        ("labels", .string("a, b"), "langwatch.labels", .array([.string("a"), .string("b")])),
        ("gen_ai.system", .string("openai"), "gen_ai.provider.name", .string("openai")),
        ("gen_ai.usage.prompt_tokens", .string("3"), "gen_ai.usage.input_tokens", .int(3)),
        ("gen_ai.usage.completion_tokens", .int(4), "gen_ai.usage.output_tokens", .int(4)),
        ("gen_ai.request.seed", .string("11"), "gen_ai.request.seed", .int(11)),
        ("gen_ai.request.stream", .string("true"), "gen_ai.request.stream", .bool(true)),
        ("gen_ai.request.stop_sequences", .string("END"), "gen_ai.request.stop_sequences", .array([.string("END")])),
    ])
    func attributeAliasesAndCoercions(_ field: String, _ value: FieldValue, _ target: String, _ expected: AttributeValue) {
        let record = mapped([(field, value)])
        #expect(record.attributes[target] == expected)
        if field != target { #expect(record.attributes[field] == nil) }
    }

    @Test func valuesThatCannotTakeTheRequiredTypeStayUnderTheirOwnName() {
        let record = mapped([("prompt_tokens", .string("many")), ("temperature", .json("[1]")), ("max_tokens", .double(2.5))])
        #expect(record.attributes["gen_ai.usage.input_tokens"] == nil)
        #expect(record.attributes["prompt_tokens"] == .string("many"))
        #expect(record.attributes["temperature"] == .array([.int(1)]))
        #expect(record.attributes["max_tokens"] == .double(2.5))
    }

    @Test func canonicalFields() {
        let record = mapped([
            ("trace_id", .string("4BF92F3577B34DA6A3CE929D0E0E4736")), ("span_id", .string("00f067aa0ba902b7")),
            ("parent_span_id", .string("a3ce929d0e0e4736")), ("cost_usd", .string("0.25")),
            ("timestamp", .string("2026-01-01T00:00:00Z")), ("latency_ms", .double(1.5)),
            ("prompt", .string("hi")), ("completion", .json(#"{"role":"assistant","content":"yo"}"#)),
            ("msg", .string("call")), ("span_type", .string("Agent")),
        ])
        #expect(record.traceID?.description == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(record.spanID?.description == "00f067aa0ba902b7")
        #expect(record.parentSpanID?.description == "a3ce929d0e0e4736")
        #expect(record.cost == 0.25)
        #expect(record.startTime == 1_767_225_600_000_000_000)
        #expect(record.endTime == 1_767_225_600_001_500_000)
        #expect(record.input == .text("hi"))
        #expect(record.output == .json(.object([("role", .string("assistant")), ("content", .string("yo"))])))
        #expect(record.name == "call")
        #expect(record.type == .agent)
        #expect(record.attributes.isEmpty)
    }

    @Test func errorsWithStackTraces() {
        let plain = mapped([("error", .string("timeout")), ("stack", .string("a\nb"))])
        #expect(plain.status == .error(message: "timeout", stacktrace: ["a", "b"]))
        let object = mapped([("exception", .json(#"{"type":"ValueError","message":"bad","stacktrace":["f1","f2"]}"#))])
        #expect(object.status == .error(message: "bad", stacktrace: ["f1", "f2"]))
        let traceFirst = mapped([("stacktrace", .json(#"["x"]"#)), ("error", .string("boom"))])
        #expect(traceFirst.status == .error(message: "boom", stacktrace: ["x"]))
    }

    @Test func spanTypeAndName() {
        #expect(mapped([("model", .string("m")), ("operation", .string("chat"))]).name == "chat m")
        #expect(mapped([("model", .string("m")), ("operation", .string("chat"))]).type == .llm)
        #expect(mapped([("output_tokens", .int(1))]).type == .llm)
        #expect(mapped([("msg", .string("hello"))]).type == nil, "left to the span defaults: span")
        let both = mapped([("msg", .string("hello")), ("model", .string("m")), ("operation", .string("embeddings"))])
        #expect(both.name == "embeddings m")
        #expect(both.attributes["message"] == .string("hello"))
        var settings = ParserSettings()
        settings.spanType = .rag
        #expect(mapped([("model", .string("m"))], settings: settings).type == .rag)
    }

    @Test func durationWithoutAStartStartsAtTheReadTime() {
        let record = mapped([("duration_ms", .int(250))], observed: 5_000_000_000)
        #expect(record.startTime == 5_000_000_000)
        #expect(record.endTime == 5_250_000_000)
    }

    @Test func aliasesCanBeSwitchedOffAndUserMapsAndDropsApply() {
        var settings = ParserSettings()
        settings.aliases = false
        settings.map = ["llm": "gen_ai.request.model", "req": "trace_id", "tok": "gen_ai.usage.input_tokens", "x": "custom.x"]
        settings.drop = ["password", "model"]
        let record = mapped([("model", .string("kept?")), ("llm", .string("gpt")), ("req", .string("r-1")),
                             ("tok", .string("9")), ("x", .int(1)), ("password", .string("p")), ("prompt_tokens", .int(3))],
                            settings: settings)
        #expect(record.attributes["gen_ai.request.model"] == .string("gpt"))
        #expect(record.attributes["model"] == nil)
        #expect(record.attributes["password"] == nil)
        #expect(record.attributes["gen_ai.usage.input_tokens"] == .int(9))
        #expect(record.attributes["prompt_tokens"] == .int(3), "no alias when aliases are off")
        #expect(record.attributes["custom.x"] == .int(1))
        #expect(record.traceID == TraceID(hashing: "r-1".utf8))
    }
}

@Suite struct IdDerivationTests {
    @Test func nonHexIdsAreHashedStablyAndParentsMatchTheirSpans() {
        let parent = mapped([("span_id", .string("step-1"))])
        let child = mapped([("span_id", .string("step-2")), ("parent_id", .string("step-1"))])
        #expect(child.parentSpanID == parent.spanID)
        #expect(mapped([("span_id", .string("step-1"))]).spanID == parent.spanID)
        #expect(mapped([("trace_id", .string("not-hex"))]).traceID == TraceID(hashing: "not-hex".utf8))
    }

    @Test func traceIDFromGroupsRecordsSharingAField() {
        var settings = ParserSettings()
        settings.traceIDFrom = "request_id"
        let first = mapped([("request_id", .string("req-1")), ("span_id", .string("a"))], settings: settings)
        let second = mapped([("span_id", .string("b")), ("request_id", .string("req-1"))], settings: settings)
        let other = mapped([("request_id", .string("req-2"))], settings: settings)
        #expect(first.traceID == second.traceID)
        #expect(first.traceID != other.traceID)
        #expect(first.attributes["request_id"] == .string("req-1"), "the field itself is kept")
        let explicit = mapped([("trace_id", .string("4bf92f3577b34da6a3ce929d0e0e4736")), ("request_id", .string("req-1"))],
                              settings: settings)
        #expect(explicit.traceID == first.traceID, "trace_id_from wins over a trace_id field")
    }

    @Test func recordsWithoutIdsGetIdsFromTheirPositionThatSurviveAReRead() {
        func read() -> RecordBatch {
            var batch = RecordBatch(ack: AckToken(0))
            batch.append(Array("line".utf8), position: SourcePosition(source: "/var/log/app.log", identity: "fp1", offsets: 100..<105),
                         observedTime: 1)
            SpanDefaults.apply(to: &batch)
            return batch
        }
        #expect(read().records[0].traceID == read().records[0].traceID)
        #expect(read().records[0].spanID == read().records[0].spanID)
        #expect(read().records[0].traceID == TraceID(hashing: "fp1|100".utf8))
    }
}

@Suite struct TimestampParsingTests {
    @Test(arguments: [
        (FieldValue.string("2026-01-01T00:00:00Z"), UInt64(1_767_225_600_000_000_000)),
        (.string("2026-01-01T00:00:00.5Z"), 1_767_225_600_500_000_000),
        (.string("2026-01-01T00:00:00.123456789Z"), 1_767_225_600_123_456_789),
        (.string("2026-01-01T00:00:00.1234567891234Z"), 1_767_225_600_123_456_789),
        (.string("2026-01-01 00:00:00,250"), 1_767_225_600_250_000_000),
        (.string("2026-01-01t01:30:00+01:30"), 1_767_225_600_000_000_000),
        (.string("2025-12-31T19:00:00-05:00"), 1_767_225_600_000_000_000),
        (.string("2026-01-01T02:00:00+0200"), 1_767_225_600_000_000_000),
        (.string("2026-01-01T00:00:00"), 1_767_225_600_000_000_000),
        (.int(1_767_225_600), 1_767_225_600_000_000_000),
        (.int(1_767_225_600_123), 1_767_225_600_123_000_000),
        (.int(1_767_225_600_123_456), 1_767_225_600_123_456_000),
        (.int(1_767_225_600_123_456_789), 1_767_225_600_123_456_789),
        (.double(1_767_225_600.25), 1_767_225_600_250_000_000),
        (.string("1767225600123"), 1_767_225_600_123_000_000),
        (.string("1767225600.5"), 1_767_225_600_500_000_000),
        (.double(0.5), 500_000_000),
        (.double(1_767_225_600_123.5), 1_767_225_600_123_500_000),
    ])
    func forms(_ value: FieldValue, _ expected: UInt64) {
        #expect(TimestampParser.nanoseconds(value) == expected)
    }

    @Test(arguments: [
        FieldValue.string("yesterday"), .string("2026-13-01T00:00:00Z"), .string("2026-01-01T00:00:00+5"),
        .string("2026-01-01T00:00:00.Z"), .string("9999-12-31T23:59:59Z"), .int(-5), .double(.infinity), .bool(true),
        .string("2026-01-01T25:00:00Z"), .double(1e30), .int(0),
    ])
    func nonTimestamps(_ value: FieldValue) {
        #expect(TimestampParser.nanoseconds(value) == nil)
    }
}

@Suite struct JSONFieldReaderTests {
    @Test(arguments: jsonSuiteFiles("y_"))
    func simdjsonPathAcceptsEveryValidDocument(_ name: String) throws {
        let bytes = try FileSystem.read(jsonSuiteDirectory + "/" + name)
        let reader = JSONFieldReader()
        try reader.withSession { session in
            try bytes.withUnsafeBytes { try session.parse($0) { _, _ in } }
        }
    }

    @Test(arguments: jsonSuiteFiles("n_"))
    func simdjsonPathRejectsEveryInvalidDocument(_ name: String) throws {
        let bytes = try FileSystem.read(jsonSuiteDirectory + "/" + name)
        let reader = JSONFieldReader()
        #expect(throws: JSONFieldReader.Failure.self) {
            try reader.withSession { session in
                try bytes.withUnsafeBytes { try session.parse($0) { _, _ in } }
            }
        }
    }

    @Test(arguments: jsonSuiteFiles("i_"))
    func neverCrashes(_ name: String) throws {
        let bytes = try FileSystem.read(jsonSuiteDirectory + "/" + name)
        let reader = JSONFieldReader()
        _ = try? reader.withSession { session in
            try bytes.withUnsafeBytes { try session.parse($0) { _, _ in } }
        }
    }

    @Test func flattensObjectsAndKeepsPayloadsWhole() throws {
        let reader = JSONFieldReader(keepWhole: ["input"])
        var fields: [String] = []
        let line = Array(#"{"a":{"b":1,"c":{"d":"x"}},"input":{"messages":[{"role":"user"}]},"list":[1,{"k":2}],"s":"t"}"#.utf8)
        try reader.withSession { session in
            try line.withUnsafeBytes {
                try session.parse($0) { key, value in
                    fields.append(String(decoding: key, as: UTF8.self) + "=\(value.materialized())")
                }
            }
        }
        #expect(fields == [
            "a.b=int(1)", #"a.c.d=string("x")"#, #"input=json("{\"messages\":[{\"role\":\"user\"}]}")"#,
            #"list=json("[1,{\"k\":2}]")"#, #"s=string("t")"#,
        ])
    }
}
