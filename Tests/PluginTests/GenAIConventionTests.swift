import BuiltinPlugins
import OTLPOutput
import Testing
import TestSupport
@testable import TraceTailCore
@testable import WebhookInput

/// Issue #18: spans in the current OpenTelemetry GenAI conventions (operations, names, kinds, messages), older
/// conventions' names read as today's (logs and the OTLP relay), and the `conventions` an OTLP output writes.
@Suite struct GenAIConventionTests {
    func one(_ line: String) throws -> Record {
        try #require(parse([line], with: "[ { type: json } ]").records.first)
    }

    /// The OTLP/JSON attributes of each span, as a backend reads them, with the span's kind.
    func sent(_ records: [Record], _ conventions: SpanConventions = .standard) throws -> [(kind: Int64, attributes: [String: JSONValue])] {
        let body = OTLPJSON.request(RecordSelection(records), resource: [], scope: OTLPScope(), conventions: conventions)
        let json = try JSONReader.parse(Array(buffer: body))
        let spans = json["resourceSpans"]?.items?.first?["scopeSpans"]?.items?.first?["spans"]?.items ?? []
        return spans.map { span in
            var attributes: [String: JSONValue] = [:]
            for item in span["attributes"]?.items ?? [] {
                let key = item["key"]?.text ?? ""
                #expect(attributes[key] == nil, "\(key) written twice")
                attributes[key] = attributeValue(item["value"])
            }
            if case .int(let kind)? = span["kind"] { return (kind, attributes) }
            return (0, attributes)
        }
    }

    /// An OTLP/JSON AnyValue's value: an intValue (a string in OTLP/JSON) as an int, any other kind as it is.
    func attributeValue(_ value: JSONValue?) -> JSONValue? {
        guard let value else { return nil }
        if let int = value["intValue"] { return .int(Int64(int.text ?? "") ?? -1) }
        for kind in ["stringValue", "doubleValue", "boolValue", "arrayValue"] {
            if let found = value[kind] { return found }
        }
        return nil
    }

    func json(_ value: JSONValue?) throws -> JSONValue {
        try JSONReader.parse(Array((value?.text ?? "").utf8))
    }

    // MARK: The operation, the span type and the span name

    @Test(arguments: [
        (#"{"msg":"complete","model":"gpt-3.5-turbo-instruct","prompt":"Say hi"}"#, SpanType.llm, "text_completion"),
        (#"{"msg":"ask","model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#, .llm, "chat"),
        (#"{"msg":"ask","model":"gpt-4o"}"#, .llm, "chat"),
        (#"{"msg":"send","span_type":"tool"}"#, .tool, "execute_tool"),
        (#"{"msg":"plan","span_type":"agent"}"#, .agent, "invoke_agent"),
        (#"{"msg":"search","span_type":"rag"}"#, .rag, "retrieval"),
        (#"{"msg":"search","span_type":"RETRIEVER"}"#, .rag, "retrieval"),
        (#"{"msg":"embed","span_type":"embedding","model":"text-embedding-3-small"}"#, .llm, "embeddings"),
        (#"{"msg":"lookup","operation":"retrieval"}"#, .rag, "retrieval"),
        (#"{"msg":"failed","tool":"search"}"#, .tool, "execute_tool"),
        (#"{"msg":"run","agent":"planner"}"#, .agent, "invoke_agent"),
        (#"{"msg":"run","agent":"planner","model":"gpt-4o"}"#, .llm, "chat"),
    ])
    func theOperationComesFromTheSpanTypeWhenTheLogGivesNone(_ line: String, _ type: SpanType, _ operation: String) throws {
        let record = try one(line)
        #expect(record.type == type, "\(line)")
        #expect(record.attributes["gen_ai.operation.name"] == .string(operation), "\(line)")
    }

    @Test func aChainStepHasNoGenAIOperation() throws {
        #expect(try one(#"{"msg":"POST /chat","span_type":"chain"}"#).attributes["gen_ai.operation.name"] == nil)
        #expect(try one(#"{"msg":"plain line"}"#).attributes.isEmpty)
    }

    @Test(arguments: [
        (#"{"span_type":"tool","tool":"send_email"}"#, "execute_tool send_email", nil),
        (#"{"span_type":"agent","agent_name":"Math Tutor"}"#, "invoke_agent Math Tutor", nil),
        (#"{"span_type":"tool"}"#, "execute_tool", nil),
        (#"{"msg":"mail it","span_type":"tool","tool":"send_email"}"#, "mail it", nil),
        (#"{"msg":"mail it","operation":"execute_tool","tool":"send_email"}"#, "execute_tool send_email", "mail it"),
        (#"{"msg":"llm call","operation":"chat","model":"gpt-4o"}"#, "chat gpt-4o", "llm call"),
        (#"{"msg":"llm call","model":"gpt-4o"}"#, "llm call", nil),
        (#"{"span_name":"mine","operation":"chat","model":"gpt-4o","msg":"x"}"#, "mine", "x"),
    ])
    func theSpanNameIsTheLogsOwnElseOperationAndSubject(_ line: String, _ name: String, _ message: String?) throws {
        let record = try one(line)
        #expect(record.name == name, "\(line)")
        #expect(record.attributes["message"] == message.map(AttributeValue.string), "\(line)")
    }

    // MARK: Attributes of the current conventions

    @Test func currentAttributesWithTheirTypes() throws {
        let record = try one(#"{"msg":"x","model":"gpt-4o","conversation_id":"conv_1","response_id":"chatcmpl-1","top_k":"40","seed":"7","stop":["END","STOP"],"output_type":"json","tool_call_id":"call_1","agent_id":"asst_1","model_parameters":{"seed":8}}"#)
        #expect(record.attributes["gen_ai.conversation.id"] == .string("conv_1"))
        #expect(record.attributes["gen_ai.response.id"] == .string("chatcmpl-1"))
        #expect(record.attributes["gen_ai.request.top_k"] == .double(40)) // double in the conventions' registry
        #expect(record.attributes["gen_ai.request.seed"] == .int(8)) // the later of `seed` and `model_parameters.seed`
        #expect(record.attributes["gen_ai.request.stop_sequences"] == .array([.string("END"), .string("STOP")]))
        #expect(record.attributes["gen_ai.output.type"] == .string("json"))
        #expect(record.attributes["gen_ai.tool.call.id"] == .string("call_1"))
        #expect(record.attributes["gen_ai.agent.id"] == .string("asst_1"))
        #expect(try one(#"{"msg":"x","session_id":"s-9"}"#).attributes["gen_ai.conversation.id"] == .string("s-9"))
        #expect(try one(#"{"msg":"x","thread_id":"th-7"}"#).attributes["gen_ai.conversation.id"] == .string("th-7"))
    }

    // MARK: Older conventions' names, in logs

    @Test func olderConventionsNamesInALogAreReadAsTodays() throws {
        let record = try one(#"{"msg":"x","gen_ai.system":"openai","gen_ai.usage.prompt_tokens":"12","gen_ai.usage.completion_tokens":3,"llm.model_name":"gpt-4o","llm.token_count.prompt_details.cache_read":5,"session.id":"s-1","gen_ai.prompt":"[{\"role\":\"user\",\"content\":\"hi\"}]","output.value":"hello","openinference.span.kind":"LLM"}"#)
        #expect(record.attributes["gen_ai.provider.name"] == .string("openai"))
        #expect(record.attributes["gen_ai.usage.input_tokens"] == .int(12))
        #expect(record.attributes["gen_ai.usage.output_tokens"] == .int(3))
        #expect(record.attributes["gen_ai.request.model"] == .string("gpt-4o"))
        #expect(record.attributes["gen_ai.usage.cache_read.input_tokens"] == .int(5))
        #expect(record.attributes["gen_ai.conversation.id"] == .string("s-1"))
        #expect(record.input == .json(.array([.object([("role", .string("user")), ("content", .string("hi"))])])))
        #expect(record.output == .text("hello"))
        #expect(record.type == .llm)
        for old in ["gen_ai.system", "gen_ai.usage.prompt_tokens", "llm.model_name", "session.id", "gen_ai.prompt"] {
            #expect(record.attributes[old] == nil, "\(old)")
        }
        let tool = try one(#"{"msg":"x","traceloop.span.kind":"tool","traceloop.entity.input":"{\"q\":1}","llm.request.type":"embedding"}"#)
        #expect(tool.type == .tool)
        #expect(tool.input == .json(.object([("q", .int(1))])))
        #expect(tool.attributes["gen_ai.operation.name"] == .string("embeddings"))
    }

    // MARK: Older conventions' names, relayed by the webhook

    func relayed(_ attributes: String, kind: Int = 1) throws -> Record {
        let body = #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"chat","kind":\#(kind),"startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[\#(attributes)]}]}]}]}"#
        return try #require(OTLPSpans.records(json: Array(body.utf8), source: "webhook").records.first)
    }

    func string(_ key: String, _ value: String) -> String { #"{"key":"\#(key)","value":{"stringValue":"\#(value)"}}"# }
    func int(_ key: String, _ value: Int) -> String { #"{"key":"\#(key)","value":{"intValue":"\#(value)"}}"# }

    @Test func relayedSpansOlderNamesBecomeTodaysAndTheCurrentNameWinsInEitherOrder() throws {
        let record = try relayed([string("gen_ai.system", "openai"), int("gen_ai.usage.prompt_tokens", 19),
                                  int("gen_ai.usage.completion_tokens", 10), string("llm.model_name", "gpt-4o"),
                                  string("custom", "kept")].joined(separator: ","), kind: 3)
        #expect(record.attributes["gen_ai.provider.name"] == .string("openai"))
        #expect(record.attributes["gen_ai.usage.input_tokens"] == .int(19))
        #expect(record.attributes["gen_ai.usage.output_tokens"] == .int(10))
        #expect(record.attributes["gen_ai.request.model"] == .string("gpt-4o"))
        #expect(record.attributes["custom"] == .string("kept"))
        #expect(record.attributes["gen_ai.system"] == nil)
        for order in [[string("gen_ai.system", "old"), string("gen_ai.provider.name", "new")],
                      [string("gen_ai.provider.name", "new"), string("gen_ai.system", "old")]] {
            #expect(try relayed(order.joined(separator: ",")).attributes["gen_ai.provider.name"] == .string("new"))
        }
    }

    @Test func relayedOpenInferenceSpansKeepTheirKindAndContent() throws {
        let record = try relayed([string("openinference.span.kind", "TOOL"), string("tool.name", "search"),
                                  string("input.value", #"{\"q\":\"paris\"}"#), string("output.value", "sunny")].joined(separator: ","))
        #expect(record.type == .tool)
        #expect(record.attributes["gen_ai.tool.name"] == .string("search"))
        #expect(record.input == .json(.object([("q", .string("paris"))])))
        #expect(record.output == .text("sunny"))
        #expect(try relayed(string("openinference.span.kind", "NOT_A_KIND")).attributes["openinference.span.kind"] == .string("NOT_A_KIND"))
        // A LangWatch SDK span: its own type wins over OpenInference's kind, whichever comes first.
        let both = try relayed([string("openinference.span.kind", "TOOL"), string("langwatch.span.type", "agent")].joined(separator: ","))
        #expect(both.type == .agent)
    }

    // MARK: Messages in the conventions' JSON shape

    func llm(input: String? = nil, output: String? = nil, _ extra: String = "") throws -> [String: JSONValue] {
        var fields = [#""msg":"x","model":"gpt-4o""#]
        if let input { fields.append(#""input":\#(input)"#) }
        if let output { fields.append(#""output":\#(output)"#) }
        if !extra.isEmpty { fields.append(extra) }
        return try sent([try one("{" + fields.joined(separator: ",") + "}")])[0].attributes
    }

    @Test func openAIChatWithToolCalls() throws {
        let attributes = try llm(input: #"[{"role":"system","content":"Be brief."},{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Paris\"}"}}]},{"role":"tool","tool_call_id":"call_1","content":"rainy, 57°F"}]"#,
                                 output: #"[{"index":0,"message":{"role":"assistant","content":"It is rainy."},"finish_reason":"stop"}]"#)
        #expect(try json(attributes["gen_ai.input.messages"]) == (try JSONReader.parse(Array(#"""
            [{"role":"system","parts":[{"type":"text","content":"Be brief."}]},
             {"role":"user","parts":[{"type":"text","content":"Weather in Paris?"}]},
             {"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"get_weather","arguments":{"location":"Paris"}}]},
             {"role":"tool","parts":[{"type":"tool_call_response","id":"call_1","response":"rainy, 57°F"}]}]
            """#.utf8))))
        #expect(try json(attributes["gen_ai.output.messages"]) == (try JSONReader.parse(Array(
            #"[{"role":"assistant","parts":[{"type":"text","content":"It is rainy."}],"finish_reason":"stop"}]"#.utf8))))
        #expect(attributes["gen_ai.system_instructions"] == nil) // part of the chat history: stays in the messages
    }

    @Test func anthropicMessagesWithASeparateSystemAndToolUse() throws {
        let attributes = try llm(
            input: #"{"system":"You are terse.","messages":[{"role":"user","content":[{"type":"text","text":"Weather?"}]},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"rainy"}]}]}]}"#,
            output: #"[{"type":"thinking","thinking":"Easy."},{"type":"text","text":"Rainy."}]"#, #""stop_reason":"end_turn""#)
        #expect(try json(attributes["gen_ai.system_instructions"]) == (try JSONReader.parse(Array(
            #"[{"type":"text","content":"You are terse."}]"#.utf8))))
        #expect(try json(attributes["gen_ai.input.messages"]) == (try JSONReader.parse(Array(#"""
            [{"role":"user","parts":[{"type":"text","content":"Weather?"}]},
             {"role":"assistant","parts":[{"type":"tool_call","id":"toolu_1","name":"get_weather","arguments":{"city":"Paris"}}]},
             {"role":"user","parts":[{"type":"tool_call_response","id":"toolu_1","response":"rainy"}]}]
            """#.utf8))))
        #expect(try json(attributes["gen_ai.output.messages"]) == (try JSONReader.parse(Array(
            #"[{"role":"assistant","parts":[{"type":"reasoning","content":"Easy."},{"type":"text","content":"Rainy."}],"finish_reason":"stop"}]"#.utf8))))
    }

    @Test func openAIResponsesOutputWithAFunctionCall() throws {
        let attributes = try llm(output: #"[{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Checking."}]},{"type":"function_call","call_id":"call_9","name":"lookup","arguments":"{\"id\":3}"}]"#)
        #expect(try json(attributes["gen_ai.output.messages"]) == (try JSONReader.parse(Array(
            #"[{"role":"assistant","parts":[{"type":"text","content":"Checking."},{"type":"tool_call","id":"call_9","name":"lookup","arguments":{"id":3}}],"finish_reason":"tool_call"}]"#.utf8))))
    }

    @Test func plainTextInAndOut() throws {
        let attributes = try llm(input: #""What is 2+2?""#, output: #""4""#, #""operation":"chat","finish_reason":"length""#)
        #expect(try json(attributes["gen_ai.input.messages"]) == (try JSONReader.parse(Array(
            #"[{"role":"user","parts":[{"type":"text","content":"What is 2+2?"}]}]"#.utf8))))
        #expect(try json(attributes["gen_ai.output.messages"]) == (try JSONReader.parse(Array(
            #"[{"role":"assistant","parts":[{"type":"text","content":"4"}],"finish_reason":"length"}]"#.utf8))))
    }

    @Test func aToolsInputAndOutputAreItsArgumentsAndResult() throws {
        let record = try one(#"{"msg":"x","span_type":"tool","tool":"search","input":{"q":"paris"},"output":"sunny"}"#)
        let attributes = try sent([record])[0].attributes
        #expect(attributes["gen_ai.tool.call.arguments"] == .string(#"{"q":"paris"}"#))
        #expect(attributes["gen_ai.tool.call.result"] == .string("sunny"))
        #expect(attributes["gen_ai.input.messages"] == nil)
    }

    // MARK: Span kinds

    @Test(arguments: [("llm", 3), ("rag", 3), ("tool", 1), ("agent", 1), ("chain", 1), ("span", 1), ("server", 2),
                      ("client", 3), ("producer", 4), ("consumer", 5)])
    func spanKindsAsTheConventionsSay(_ type: String, _ kind: Int) throws {
        let record = try one(#"{"msg":"x","span_type":"\#(type)"}"#)
        #expect(try sent([record])[0].kind == Int64(kind), "\(type)")
    }

    // MARK: The conventions an output writes

    @Test func eachConventionWritesItsOwnAttributesOnce() throws {
        let chat = try one(#"{"msg":"x","model":"gpt-4o","provider":"openai","prompt_tokens":10,"completion_tokens":2,"cost":0.5,"conversation_id":"c-1","input":"hi","output":"yo"}"#)
        let chain = try one(#"{"msg":"POST /chat","span_type":"chain","input":"hi"}"#)

        let standard = try sent([chat, chain])
        #expect(standard[0].attributes["gen_ai.input.messages"] != nil)
        #expect(standard[0].attributes["langwatch.input"] != nil)
        #expect(standard[0].attributes["langwatch.thread.id"] == .string("c-1"))
        #expect(standard[0].attributes.keys.filter { $0.hasPrefix("openinference.") || $0.hasPrefix("input.") || $0.hasPrefix("llm.") }.isEmpty)

        let genai = try sent([chat, chain], [.genai])[0].attributes
        #expect(genai.keys.filter { $0.hasPrefix("langwatch.") }.isEmpty)
        #expect(genai["gen_ai.conversation.id"] == .string("c-1"))

        let all = try sent([chat, chain], [.genai, .langwatch, .openinference])
        #expect(all[0].attributes["openinference.span.kind"] == .string("LLM"))
        #expect(all[0].attributes["input.value"] == .string("hi"))
        #expect(all[0].attributes["input.mime_type"] == .string("text/plain"))
        #expect(all[0].attributes["llm.model_name"] == .string("gpt-4o"))
        #expect(all[0].attributes["llm.provider"] == .string("openai"))
        #expect(all[0].attributes["llm.token_count.total"] == .int(12))
        #expect(all[0].attributes["llm.cost.total"] == .double(0.5))
        #expect(all[0].attributes["session.id"] == .string("c-1"))
        #expect(all[1].attributes["openinference.span.kind"] == .string("CHAIN"))
        #expect(all[1].attributes["input.value"] == .string("hi"))
    }

    @Test(arguments: [("llm", "LLM"), ("tool", "TOOL"), ("agent", "AGENT"), ("chain", "CHAIN"), ("rag", "RETRIEVER"),
                      ("embedding", "EMBEDDING"), ("guardrail", "GUARDRAIL"), ("evaluation", "EVALUATOR"), ("span", "CHAIN")])
    func openInferenceSpanKinds(_ type: String, _ kind: String) throws {
        let record = try one(#"{"msg":"x","span_type":"\#(type)"}"#)
        #expect(try sent([record], [.openinference])[0].attributes["openinference.span.kind"] == .string(kind))
    }

    @Test func conventionsAreConfiguredByName() throws {
        func decoded(_ yaml: String) throws -> (SpanConventions?, [String]) {
            var diagnostics: [ConfigDiagnostic] = []
            let node = try YAMLParser.parse("endpoint: \"http://127.0.0.1:1/v1/traces\"" + yaml, file: "t.yaml", diagnostics: &diagnostics)
            let configuration = ConfigDecoder.decode(OTLPOutput.Configuration.self, from: node, diagnostics: &diagnostics)
            return (configuration?.conventions, diagnostics.map(\.message))
        }
        #expect(try decoded("").0 == [.genai, .langwatch])
        #expect(try decoded("\nconventions: [genai, openinference]").0 == [.genai, .openinference])
        let (none, messages) = try decoded("\nconventions: [genai, phoenix]")
        #expect(none == nil)
        #expect(messages.contains { $0.contains("expected one of genai, langwatch, openinference, found 'phoenix'") }, "\(messages)")
    }
}
