import BuiltinPlugins
@testable import JSONParser
import Testing
import TestSupport

/// Issue #17: what common logging libraries and LLM SDKs write maps right with no configuration.
@Suite struct ShapeTests {
    func one(_ line: String, _ yaml: String = "[ { type: json } ]") throws -> Record {
        try #require(parse([line], with: yaml).records.first)
    }

    // MARK: Byte-order marks and bytes in errors

    @Test(arguments: ["[ { type: json } ]", "[ { type: kv } ]"])
    func aLeadingByteOrderMarkIsSkipped(_ yaml: String) throws {
        let line = yaml.contains("json") ? #"{"msg":"llm call","model":"gpt-4o"}"# : "msg=\"llm call\" model=gpt-4o"
        let record = try one("\u{FEFF}" + line, yaml)
        #expect(record.parseError == nil)
        #expect(record.name == "llm call")
        #expect(record.attributes["gen_ai.request.model"] == .string("gpt-4o"))
    }

    @Test(arguments: [("\u{FEFF}\u{FEFF}{}", "invalid JSON: unexpected byte 0xEF at byte 0"),
                      ("é{}", "invalid JSON: unexpected byte 0xC3 at byte 0"),
                      ("{\"a\":\"\\\u{7F}\"}", "invalid JSON: invalid escape: backslash then byte 0x7F at byte 7")])
    func unexpectedBytesAreNamedInHex(_ line: String, _ error: String) throws {
        #expect(try one(line).parseError == error)
    }

    // MARK: Integers keep every digit

    @Test(arguments: ["[ { type: json } ]", "[ { type: kv } ]"])
    func integersKeepEveryDigit(_ yaml: String) throws {
        let values = ["18446744073709551615", "123456789012345678901234567890", "9223372036854775807", "-9223372036854775808"]
        let line = yaml.contains("json")
            ? "{\"msg\":\"x\"," + values.enumerated().map { "\"n\($0)\":\($1)" }.joined(separator: ",") + "}"
            : "msg=x " + values.enumerated().map { "n\($0)=\($1)" }.joined(separator: " ")
        let record = try one(line, yaml)
        #expect(record.attributes["n0"] == .string("18446744073709551615"))
        #expect(record.attributes["n1"] == .string("123456789012345678901234567890"))
        #expect(record.attributes["n2"] == .int(.max))
        #expect(record.attributes["n3"] == .int(.min))
    }

    @Test func aHugeIntegerInATypedFieldStaysUnderItsOwnNameWithItsDigits() throws {
        let record = try one(#"{"msg":"x","prompt_tokens":18446744073709551616}"#)
        #expect(record.attributes["gen_ai.usage.input_tokens"] == nil)
        #expect(record.attributes["prompt_tokens"] == .string("18446744073709551616"))
    }

    // MARK: What is an error

    @Test(arguments: [#"{"msg":"ok","error":""}"#, #"{"msg":"ok","error":false}"#, #"{"msg":"ok","error":0}"#,
                      #"{"msg":"ok","error":[]}"#, #"{"msg":"ok","error":{}}"#, #"{"msg":"ok","error":null}"#,
                      #"{"msg":"ok","err":"<nil>"}"#, #"{"msg":"ok","error":" "}"#])
    func emptyOrFalseErrorsAreNoErrors(_ line: String) throws {
        let record = try one(line)
        #expect(record.status == .unset, "\(line)")
        #expect(record.attributes["exception.message"] == nil)
    }

    @Test func anEmptyLogfmtErrorIsNoError() throws {
        #expect(try one("msg=ok error=", "[ { type: kv } ]").status == .unset)
        #expect(try one("msg=ok error=\"\"", "[ { type: kv } ]").status == .unset)
    }

    @Test func aNonEmptyErrorOrTrueWithAMessageElsewhereIsAnError() throws {
        #expect(try one(#"{"msg":"send","error":"dial tcp: i/o timeout"}"#).status
            == .error(message: "dial tcp: i/o timeout", stacktrace: []))
        #expect(try one(#"{"msg":"send failed","error":true}"#).status == .error(message: "send failed", stacktrace: []))
        #expect(try one("msg=\"send failed\" error", "[ { type: kv } ]").status == .error(message: "send failed", stacktrace: []))
    }

    @Test func errorObjectsAsLoggersWriteThem() throws {
        // pino's `err`, bunyan's `err` (name instead of type).
        let pino = try one(#"{"level":50,"msg":"tool failed","err":{"type":"TimeoutError","message":"upstream took 30s","stack":"TimeoutError: upstream took 30s\n    at call (tool.js:9:11)"}}"#)
        #expect(pino.status == .error(message: "upstream took 30s", stacktrace: ["TimeoutError: upstream took 30s", "    at call (tool.js:9:11)"]))
        #expect(pino.attributes["exception.type"] == .string("TimeoutError"))
        #expect(pino.attributes["exception.message"] == .string("upstream took 30s"))
        #expect(pino.attributes["exception.stacktrace"] == .string("TimeoutError: upstream took 30s\n    at call (tool.js:9:11)"))
        let bunyan = try one(#"{"msg":"boom","err":{"message":"boom","name":"RangeError","stack":"RangeError: boom\n    at f (a.js:1:1)"}}"#)
        #expect(bunyan.attributes["exception.type"] == .string("RangeError"))
    }

    @Test func pythonTracebacksGiveTypeMessageAndStack() throws {
        let traceback = #"Traceback (most recent call last):\n  File \"/app/llm.py\", line 12, in complete\n    raise ValueError(\"bad input\")\nValueError: bad input"#
        // python-json-logger: the traceback in exc_info, ERROR in levelname.
        let logged = try one(#"{"message":"llm call failed","levelname":"ERROR","exc_info":"\#(traceback)"}"#)
        #expect(logged.name == "llm call failed")
        let lines = ["Traceback (most recent call last):", #"  File "/app/llm.py", line 12, in complete"#,
                     #"    raise ValueError("bad input")"#, "ValueError: bad input"]
        #expect(logged.status == .error(message: "ValueError: bad input", stacktrace: lines))
        #expect(logged.attributes["exception.type"] == .string("ValueError"))
        #expect(logged.attributes["exception.message"] == .string("bad input"))
        // structlog's format_exc_info: the traceback under `exception`.
        let structlog = try one(#"{"event":"llm call failed","level":"error","exception":"\#(traceback)"}"#)
        #expect(structlog.name == "llm call failed")
        #expect(structlog.status == .error(message: "ValueError: bad input", stacktrace: lines))
        #expect(structlog.attributes["exception.type"] == .string("ValueError"))
    }

    // MARK: Levels

    @Test(arguments: [
        (#"{"msg":"m","level":30}"#, "INFO", 9), (#"{"msg":"m","level":50}"#, "ERROR", 17), (#"{"msg":"m","level":60}"#, "FATAL", 21),
        (#"{"msg":"m","level":"warn"}"#, "WARN", 13), (#"{"msg":"m","levelname":"WARNING"}"#, "WARN", 13),
        (#"{"msg":"m","severity":"ERROR"}"#, "ERROR", 17), (#"{"msg":"m","levelno":40}"#, "ERROR", 17),
        (#"{"msg":"m","levelname":"CRITICAL","levelno":50}"#, "FATAL", 21), (#"{"msg":"m","level":"dpanic"}"#, "ERROR", 18),
        (#"{"msg":"m","record":{"level":{"name":"SUCCESS","no":25}}}"#, "INFO", 11), (#"{"msg":"m","level":10}"#, "TRACE", 1),
    ])
    func levelsBecomeSeverity(_ line: String, _ text: String, _ number: Int64) throws {
        let record = try one(line)
        #expect(record.attributes["log.severity_text"] == .string(text), "\(line)")
        #expect(record.attributes["log.severity_number"] == .int(number), "\(line)")
        #expect((record.status != .unset) == (number >= 17), "\(line)")
        #expect(record.attributes["level"] == nil && record.attributes["levelname"] == nil)
    }

    @Test func anErrorLevelNamesTheStatusWithTheMessage() throws {
        #expect(try one(#"{"msg":"payment failed","level":"error"}"#).status == .error(message: "payment failed", stacktrace: []))
        #expect(try one("time=2026-01-02T03:04:05Z level=ERROR msg=\"payment failed\"", "[ { type: kv } ]").status
            == .error(message: "payment failed", stacktrace: []))
    }

    @Test func anUnknownLevelStaysAsItIs() throws {
        let record = try one(#"{"msg":"m","level":"audit"}"#)
        #expect(record.attributes["level"] == .string("audit"))
        #expect(record.attributes["log.severity_text"] == nil)
    }

    // MARK: Times

    @Test(arguments: [
        #"{"msg":"m","asctime":"2026-01-02 03:04:05,678"}"#, #"{"msg":"m","@timestamp":"2026-01-02T03:04:05.678Z"}"#,
        #"{"msg":"m","created":1767323045.678}"#, #"{"msg":"m","time":"2026-01-02 03:04:05.678 +0000 UTC"}"#,
        #"{"msg":"m","timestamp":"2026-01-02 03:04:05.678 UTC"}"#, #"{"msg":"m","ts":"2026-01-02T04:04:05.678+01:00"}"#,
        #"{"msg":"m","time":"2026-01-02T04:04:05.678+0100 CET"}"#, #"{"msg":"m","ts":1767323045678}"#,
        #"{"msg":"m","record":{"time":{"repr":"2026-01-02 04:04:05.678000+01:00","timestamp":1767323045.678}}}"#,
    ])
    func timesUnderTheNamesLoggersUse(_ line: String) throws {
        #expect(try one(line).startTime == 1_767_323_045_678_000_000, "\(line)")
    }

    @Test func rfc1123Times() throws {
        #expect(try one(#"{"msg":"m","time":"Fri, 02 Jan 2026 03:04:05 GMT"}"#).startTime == 1_767_323_045_000_000_000)
        #expect(try one(#"{"msg":"m","time":"2 Jan 2026 04:04:05 +0100"}"#).startTime == 1_767_323_045_000_000_000)
    }

    @Test(arguments: [(#"{"msg":"m","ts":"yesterday"}"#, "yesterday"),
                      (#"{"msg":"m","time":"2026-01-02 03:04:05 PST"}"#, "2026-01-02 03:04:05 PST"),
                      (#"{"msg":"m","timestamp":"02/01/2026 03:04"}"#, "02/01/2026 03:04")])
    func anUnreadableTimeIsMarkedAndCountedNeverSilentlyReplaced(_ line: String, _ text: String) throws {
        let parser = JSONParser(configuration: JSONParser.Configuration(), context: .forTests())
        var records = batch([line])
        parser.parse(&records)
        let record = records.records[0]
        #expect(record.startTime == nil) // the read time comes later, from SpanDefaults, with the mark below
        #expect(record.parseError == nil)
        #expect(record.attributes["tracetail.time_unparsed"] == .string(text))
        #expect(parser.failures.unreadableTimeCount == 1)
    }

    // MARK: Usage as the SDKs write it

    @Test func openAIChatUsage() throws {
        let record = try one(#"{"msg":"chat","model":"gpt-4o-mini","usage":{"prompt_tokens":19,"completion_tokens":10,"completion_tokens_details":{"reasoning_tokens":4},"prompt_tokens_details":{"cached_tokens":8}}}"#)
        #expect(record.attributes["gen_ai.usage.input_tokens"] == .int(19))
        #expect(record.attributes["gen_ai.usage.output_tokens"] == .int(10))
        #expect(record.attributes["gen_ai.usage.reasoning.output_tokens"] == .int(4))
        #expect(record.attributes["gen_ai.usage.cache_read.input_tokens"] == .int(8))
        #expect(record.attributes["usage.prompt_tokens"] == nil)
        #expect(record.type == .llm)
    }

    @Test func openAIResponsesUsage() throws {
        let record = try one(#"{"id":"resp_1","object":"response","created_at":1767323045,"model":"gpt-4o-mini","usage":{"input_tokens":30,"input_tokens_details":{"cached_tokens":0},"output_tokens":12,"output_tokens_details":{"reasoning_tokens":5},"total_tokens":42}}"#)
        #expect(record.name == "chat gpt-4o-mini")
        #expect(record.startTime == 1_767_323_045_000_000_000)
        #expect(record.attributes["gen_ai.usage.input_tokens"] == .int(30))
        #expect(record.attributes["gen_ai.usage.output_tokens"] == .int(12))
        #expect(record.attributes["gen_ai.usage.reasoning.output_tokens"] == .int(5))
        #expect(record.attributes["gen_ai.usage.cache_read.input_tokens"] == .int(0))
        #expect(record.attributes["usage.total_tokens"] == .int(42))
    }

    @Test func anthropicUsage() throws {
        let record = try one(#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4","stop_reason":"end_turn","usage":{"input_tokens":25,"cache_creation_input_tokens":100,"cache_read_input_tokens":400,"output_tokens":7}}"#)
        #expect(record.name == "chat claude-sonnet-4")
        #expect(record.attributes["gen_ai.usage.input_tokens"] == .int(25))
        #expect(record.attributes["gen_ai.usage.output_tokens"] == .int(7))
        #expect(record.attributes["gen_ai.usage.cache_read.input_tokens"] == .int(400))
        #expect(record.attributes["gen_ai.usage.cache_creation.input_tokens"] == .int(100))
        #expect(record.attributes["gen_ai.response.finish_reasons"] == .array([.string("end_turn")]))
    }

    @Test func liteLLMStandardLoggingPayload() throws {
        let record = try one(#"{"id":"c1","call_type":"acompletion","custom_llm_provider":"openai","model":"gpt-4o-mini","response_cost":0.00021,"prompt_tokens":21,"completion_tokens":9,"total_tokens":30,"startTime":1767323045.5,"endTime":1767323046.25,"model_parameters":{"temperature":0.2,"max_tokens":256},"end_user":"u-1","status":"success"}"#)
        #expect(record.name == "chat gpt-4o-mini")
        #expect(record.cost == 0.00021)
        #expect(record.startTime == 1_767_323_045_500_000_000 && record.endTime == 1_767_323_046_250_000_000)
        #expect(record.attributes["gen_ai.provider.name"] == .string("openai"))
        #expect(record.attributes["gen_ai.request.temperature"] == .double(0.2))
        #expect(record.attributes["gen_ai.request.max_tokens"] == .int(256))
        #expect(record.attributes["langwatch.user.id"] == .string("u-1"))
    }

    // MARK: Logger metadata is no span name

    @Test func aLoggersNameIsAnAttributeNotTheSpanName() throws {
        let record = try one(#"{"name":"chat-api","hostname":"h1","pid":7,"level":30,"msg":"llm call","time":"2026-01-02T03:04:05.678Z","v":0}"#)
        #expect(record.name == "llm call")
        #expect(record.attributes["logger.name"] == .string("chat-api"))
        #expect(record.attributes["host.name"] == .string("h1"))
        #expect(record.attributes["process.pid"] == .int(7))
        #expect(record.attributes["name"] == nil)
    }

    @Test func loggerMetadataTakesTheOpenTelemetryNames() throws {
        let python = try one(#"{"message":"m","name":"app.llm","module":"client","funcName":"complete","lineno":42,"pathname":"/app/client.py","process":123,"thread":140234,"threadName":"MainThread"}"#)
        #expect(python.name == "m")
        #expect(attributes(python) == [#"logger.name="app.llm""#, #"code.namespace="client""#, #"code.function.name="complete""#,
                                       "code.line.number=42", #"code.file.path="/app/client.py""#, "process.pid=123",
                                       "thread.id=140234", #"thread.name="MainThread""#])
        let zap = try one(#"{"level":"info","ts":1767323045.678,"logger":"llm","caller":"llm/client.go:88","msg":"m"}"#)
        #expect(zap.attributes["code.file.path"] == .string("llm/client.go"))
        #expect(zap.attributes["code.line.number"] == .int(88))
        #expect(zap.attributes["logger.name"] == .string("llm"))
        let slog = try one(#"{"time":"2026-01-02T03:04:05.678Z","level":"INFO","source":{"function":"main.run","file":"/app/main.go","line":31},"msg":"m"}"#)
        #expect(slog.attributes["code.function.name"] == .string("main.run"))
        #expect(slog.attributes["code.line.number"] == .int(31))
    }

    @Test func aFieldNamedLikeADerivedAttributeIsNeverSetTwice() throws {
        let record = try one(#"{"msg":"m","code.file.path":"a.go","caller":"b.go:3","log.severity_text":"x","level":"info"}"#)
        #expect(attributes(record) == [#"code.file.path="b.go""#, "code.line.number=3", #"log.severity_text="INFO""#,
                                       "log.severity_number=9"])
    }

    @Test func loguruBoundFieldsReadLikeTopLevelOnes() throws {
        let record = try one(#"{"text":"…","record":{"message":"llm call","name":"app","extra":{"model":"gpt-4o","prompt_tokens":3}}}"#)
        #expect(record.name == "llm call")
        #expect(record.attributes["gen_ai.request.model"] == .string("gpt-4o"))
        #expect(record.attributes["gen_ai.usage.input_tokens"] == .int(3))
        #expect(record.attributes["logger.name"] == .string("app"))
    }
}
