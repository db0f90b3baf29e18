import BuiltinPlugins
import ConsoleOutput
import JSONParser
import Testing
import TestSupport

func batch(_ lines: [String]) -> RecordBatch {
    var batch = RecordBatch(ack: AckToken(7))
    var offset: UInt64 = 0
    for line in lines {
        let bytes = Array(line.utf8)
        batch.append(bytes, position: SourcePosition(source: "app.log", offsets: offset..<offset + UInt64(bytes.count) + 1),
                     observedTime: 1_767_225_600_000_000_000)
        offset += UInt64(bytes.count) + 1
    }
    return batch
}

@Suite struct BuiltinRegistryTests {
    @Test func everyBuiltinPluginIsRegisteredOnceWithDocumentedOptions() throws {
        let registry = try BuiltinPlugins.registry()
        #expect(registry.kinds(of: .input) == ["stdin", "file", "webhook"])
        #expect(registry.kinds(of: .parser) == ["json", "kv"])
        #expect(registry.kinds(of: .output) == ["console", "discard", "otlp", "langwatch", "langsmith"])
        for entry in registry.entries {
            #expect(!entry.type.summary.isEmpty)
            #expect(entry.type.options.allSatisfy { !$0.summary.isEmpty && !$0.type.isEmpty })
        }
    }

    @Test func theExampleConfigurationIsValid() throws {
        let config = try ConfigLoader.load(file: repositoryRoot() + "/config.example.yaml",
                                           registry: BuiltinPlugins.registry(), environment: [:])
        #expect(config.pipelines.map(\.summary) == ["file → json → console"])
    }
}

@Suite struct JSONParserTests {
    func parser(_ yaml: String = "{ type: json }") throws -> JSONParser {
        let text = "pipelines:\n  p:\n    input: { type: stdin }\n    parsers: [ \(yaml) ]\n    outputs: [ { type: console } ]\n"
        let config = try ConfigLoader.load(text: text, file: "t.yaml", registry: BuiltinPlugins.registry(), environment: [:])
        return try #require(try config.pipelines[0].parsers[0].instantiate(.forTests()) as? JSONParser)
    }

    @Test func objectsBecomeAttributesAndCanonicalFields() throws {
        var records = batch([
            #"{"message":"chat gpt-4o","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","parent_id":"a3ce929d0e0e4736","model":"gpt-4o","usage":{"prompt_tokens":18}}"#,
        ])
        try parser().parse(&records)
        let record = records.records[0]
        #expect(record.name == "chat gpt-4o")
        #expect(record.traceID?.description == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(record.spanID?.description == "00f067aa0ba902b7")
        #expect(record.parentSpanID?.description == "a3ce929d0e0e4736")
        #expect(record.attributes == Attributes([("gen_ai.request.model", .string("gpt-4o")), ("gen_ai.usage.input_tokens", .int(18))]))
        #expect(record.type == .llm)
        #expect(record.parseError == nil)
    }

    @Test func badLinesAreKeptRawAndMarkedByDefault() throws {
        var records = batch([#"{"ok":1}"#, "plain text", "[1,2]", #"{"cut": "#])
        let json = try parser()
        json.parse(&records)
        #expect(records.records.count == 4)
        #expect(records.records.map { $0.parseError != nil } == [false, true, true, true])
        #expect(records.records[2].attributes["tracetail.parse_error"] == .string("expected a JSON object"))
        #expect(records.records[1].attributes["tracetail.parse_error"] == .string("invalid JSON: unexpected character 'p' at byte 0"))
        #expect(records.records[1].name == nil, "the raw text becomes the name later, in the span defaults")
    }

    @Test func badLinesCanBeDropped() throws {
        var records = batch(["nope", #"{"a":1}"#, "nope again", #"{"b":2}"#])
        try parser("{ type: json, on_error: drop }").parse(&records)
        #expect(records.records.map { $0.attributes.entries.first?.key } == ["a", "b"])
        #expect(records.ack == AckToken(7))
    }
}

@Suite struct ConsoleOutputTests {
    func render(_ format: ConsoleOutput.Format, _ records: RecordBatch) -> String {
        var configuration = ConsoleOutput.Configuration()
        configuration.format = format
        let console = ConsoleOutput(configuration: configuration, context: .forTests())
        return String(decoding: console.render(records), as: UTF8.self)
    }

    func sample() -> RecordBatch {
        var records = batch(["raw"])
        records.records[0].traceID = TraceID(hex: "4bf92f3577b34da6a3ce929d0e0e4736")
        records.records[0].spanID = SpanID(hex: "00f067aa0ba902b7")
        records.records[0].name = "chat gpt-4o"
        records.records[0].type = .llm
        records.records[0].startTime = 1_767_225_600_100_000_000
        records.records[0].endTime = 1_767_225_601_400_000_000
        records.records[0].status = .error(message: "timeout", stacktrace: ["at a"])
        records.records[0].attributes["gen_ai.usage.input_tokens"] = .int(18)
        records.records[0].attributes["tags"] = .array([.string("a"), .string("b")])
        return records
    }

    @Test func textLines() {
        #expect(render(.text, sample()) == """
            2026-01-01T00:00:00.100Z llm "chat gpt-4o" 1.3s trace=4bf92f3577b34da6a3ce929d0e0e4736 span=00f067aa0ba902b7 \
            error="timeout" gen_ai.usage.input_tokens=18 tags=["a","b"]

            """)
    }

    @Test func ndjson() throws {
        let text = render(.json, sample())
        #expect(text == #"{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","name":"chat gpt-4o","type":"llm","start_time_unix_nano":1767225600100000000,"end_time_unix_nano":1767225601400000000,"status":{"code":"error","message":"timeout","stacktrace":["at a"]},"attributes":{"gen_ai.usage.input_tokens":18,"tags":["a","b"]},"source":{"name":"app.log","offset":0}}"# + "\n")
        #expect(throws: Never.self) { try JSONReader.parse(Array(text.utf8).dropLast()) }
    }
}
