import BuiltinPlugins
import Foundation
import KeyValueParser
import Testing
import TestSupport

/// Builds the parsers of a one-pipeline configuration written as a flow sequence.
func parsers(_ yaml: String, dataDirectory: String = "/tmp/tracetail-tests") throws -> [any Parser] {
    let text = "pipelines:\n  p:\n    input: { type: stdin }\n    parsers: \(yaml)\n    outputs: [ { type: console } ]\n"
    let config = try ConfigLoader.load(text: text, file: "t.yaml", registry: BuiltinPlugins.registry(), environment: [:])
    return try config.pipelines[0].parsers.map { try $0.instantiate(.forTests(dataDirectory: dataDirectory)) }
}

func parse(_ lines: [String], with yaml: String) throws -> RecordBatch {
    var records = batch(lines)
    for parser in try parsers(yaml) { parser.parse(&records) }
    return records
}

/// The fields a record ended up with, as `key=value` strings in order (attributes only).
func attributes(_ record: Record) -> [String] {
    record.attributes.map { key, value in
        var writer = JSONWriter()
        SpanJSON.attribute(value, &writer)
        return "\(key)=" + writer.text
    }
}

@Suite struct GoldenSpanTests {
    let root = repositoryRoot()

    func spans(_ log: String, _ parser: String) throws -> [String] {
        let lines = try String(contentsOfFile: root + "/examples/logs/" + log, encoding: .utf8)
            .split(separator: "\n").map(String.init)
        var records = batch(lines)
        for parser in try parsers("[ { type: \(parser), trace_id_from: request_id } ]") { parser.parse(&records) }
        SpanDefaults.apply(to: &records)
        return records.records.map { record in
            var writer = JSONWriter()
            SpanJSON.write(record, to: &writer, source: false)
            return writer.text
        }
    }

    @Test(arguments: [("llm-app.jsonl", "json"), ("llm-app.logfmt", "kv")])
    func theRealisticLogMapsToExactlyTheExpectedSpans(_ log: String, _ parser: String) throws {
        let path = root + "/examples/golden/llm-app.spans.ndjson"
        let produced = try spans(log, parser)
        if ProcessInfo.processInfo.environment["TRACETAIL_BLESS"] != nil { // rewrites it: review the diff
            try (produced.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(produced.count == golden.count)
        for (line, (actual, expected)) in zip(produced, golden).enumerated() {
            #expect(actual == expected, "line \(line + 1)")
        }
    }
}

@Suite struct LogfmtTests {
    @Test(arguments: [
        (#"a=1 b=two c="three four""#, [#"a=1"#, #"b="two""#, #"c="three four""#]),
        (#"q="say \"hi\"" path="C:\\tmp" nl="a\nb" u="\u00e9""#, [#"q="say \"hi\"""#, #"path="C:\\tmp""#, #"nl="a\nb""#, #"u="é""#]),
        ("eq=a=b=c url=http://x/?y=1", [#"eq="a=b=c""#, #"url="http://x/?y=1""#]),
        (#"empty= quoted="" next=1"#, [#"empty="""#, #"quoted="""#, "next=1"]),
        ("flag other=1 verbose", ["flag=true", "other=1", "verbose=true"]),
        ("ratio=0.25 neg=-3 big=1e3 ok=true no=false ver=1.2.3", ["ratio=0.25", "neg=-3", "big=1000", "ok=true", "no=false", #"ver="1.2.3""#]),
        ("  spaced\t=x  tab\tsep=2 ", ["spaced=true", "tab=true", "sep=2"]),
        ("名前=値 emoji=😀", [#"名前="値""#, #"emoji="😀""#]),
        (#"unterminated="runs to the end"#, [#"unterminated="runs to the end""#]),
    ])
    func pairs(_ line: String, _ expected: [String]) throws {
        let records = try parse([line], with: "[ { type: kv, aliases: false } ]")
        #expect(attributes(records.records[0]) == expected)
    }

    @Test func separatorsAreConfigurable() throws {
        let records = try parse(["a:1|b:two words|c"], with: #"[ { type: kv, pair_separator: "|", value_separator: ":" } ]"#)
        #expect(attributes(records.records[0]) == ["a=1", #"b="two words""#, "c=true"])
    }

    @Test func aLineWithNoPairsIsAParseFailure() throws {
        let records = try parse(["", "   "].map { $0 + "" } + ["=== "], with: "[ { type: kv } ]")
        #expect(records.records.allSatisfy { $0.parseError == "no key=value pairs" })
    }
}

@Suite struct PatternTests {
    @Test func namedGroupsBecomeFieldsAndPairsFromParsesTheRest() throws {
        let yaml = #"[ { type: kv, pattern: '^(?<ts>\S+) (?<level>[A-Z]+) (?<rest>.*)$', pairs_from: rest } ]"#
        let records = try parse(["2026-01-01T00:00:00Z INFO model=gpt-4o prompt_tokens=12 note=\"a b\"", "garbage"], with: yaml)
        let record = records.records[0]
        #expect(record.startTime == 1_767_225_600_000_000_000)
        #expect(attributes(record) == [#"log.severity_text="INFO""#, "log.severity_number=9", #"gen_ai.request.model="gpt-4o""#,
                                       "gen_ai.usage.input_tokens=12", #"note="a b""#, #"gen_ai.operation.name="chat""#])
        #expect(records.records[1].parseError == "the pattern does not match")
    }

    @Test func freeTextExtraction() throws {
        let yaml = #"[ { type: kv, pattern: 'used (?<output_tokens>\d+) tokens on (?<model>[\w.-]+)' } ]"#
        let records = try parse(["request 12 done: used 123 tokens on gpt-4o in 3s"], with: yaml)
        #expect(records.records[0].attributes["gen_ai.usage.output_tokens"] == .int(123))
        #expect(records.records[0].attributes["gen_ai.request.model"] == .string("gpt-4o"))
        #expect(records.records[0].type == .llm)
    }

    @Test func aBadPatternIsAConfigErrorAtItsPosition() {
        func errors(_ parser: String) -> [String] {
            let text = "pipelines:\n  p:\n    input: { type: stdin }\n    parsers:\n      - \(parser)\n    outputs: [ { type: console } ]\n"
            do {
                _ = try ConfigLoader.load(text: text, file: "t.yaml", registry: BuiltinPlugins.registry(), environment: [:])
                return []
            } catch let error as ConfigErrors {
                return error.diagnostics.map(\.description)
            } catch {
                return ["\(error)"]
            }
        }
        // The value's text starts at column 31, after its quote; PCRE2 stops at offset 8 → column 39.
        #expect(errors("{ type: kv, pattern: 'ab(?<x>[' }") == [
            "t.yaml:5:39: pipelines.p.parsers[0].pattern: invalid pattern: missing terminating ] for character class (at offset 8)",
        ])
        #expect(errors("{ type: kv, pattern: 'no groups here' }") == [
            "t.yaml:5:31: pipelines.p.parsers[0].pattern: the pattern has no named groups, e.g. (?<model>\\S+)",
        ])
        #expect(errors("{ type: kv, pattern: '(?<a>x)', pairs_from: b }") == [
            "t.yaml:5:53: pipelines.p.parsers[0].pairs_from: pairs_from names 'b', which is no named group of the pattern",
        ])
        #expect(errors("{ type: kv, pair_separator: '==' }") == [
            "t.yaml:5:38: pipelines.p.parsers[0].pair_separator: expected a single character other than a quote or backslash, found '=='",
        ])
    }
}

@Suite struct JSONParserEdgeTests {
    @Test(arguments: [
        (#"{"s":"tab\t\"q\" \\ \/ \u00e9"}"#, [#"s="tab\t\"q\" \\ / é""#]),
        (#"{"pair":"\ud83d\ude00","lone":"\ud800x"}"#, [#"pair="😀""#, #"lone="\#u{FFFD}x""#]),
        (#"{"big":123456789012345678901234567890,"neg":-9223372036854775808,"exp":1.5e300}"#,
         [#"big="123456789012345678901234567890""#, "neg=-9223372036854775808", "exp=1.5e+300"]),
        (#"{"a":{"b":{"c":{"d":[1,2]}}},"e":[]}"#, ["a.b.c.d=[1,2]", "e=[]"]),
        (#"{"x":null,"y":true}"#, ["y=true"]),
    ])
    func edgeCases(_ line: String, _ expected: [String]) throws {
        let records = try parse([line], with: "[ { type: json, aliases: false } ]")
        #expect(records.records[0].parseError == nil)
        #expect(attributes(records.records[0]) == expected)
    }

    @Test func invalidUTF8IsRepairedNotFatal() throws {
        var records = batch([""])
        records.storage = Array(#"{"msg":"bad "#.utf8) + [0xFF, 0xFE] + Array(#" bytes","n":1}"#.utf8)
        records.records[0].raw = 0..<records.storage.count
        for parser in try parsers("[ { type: json } ]") { parser.parse(&records) }
        #expect(records.records[0].parseError == nil)
        #expect(records.records[0].name == "bad \u{FFFD}\u{FFFD} bytes")
        #expect(records.records[0].attributes["n"] == .int(1))
    }

    @Test func deepNestingIsAParseErrorNotACrash() throws {
        let deep = String(repeating: #"{"a":"#, count: 5000) + "1" + String(repeating: "}", count: 5000)
        let records = try parse([deep], with: "[ { type: json } ]")
        #expect(records.records[0].parseError != nil)
    }

    @Test func jsonEmbeddedInAFieldOfAnEarlierParser() throws {
        let yaml = #"[ { type: kv, pattern: '^(?<level>\w+) (?<payload>\{.*\})$' }, { type: json, field: payload } ]"#
        let records = try parse([#"INFO {"model":"gpt-4o","usage":{"total":3}}"#], with: yaml)
        #expect(attributes(records.records[0]) == [#"log.severity_text="INFO""#, "log.severity_number=9", #"gen_ai.request.model="gpt-4o""#,
                                                   "usage.total=3", #"gen_ai.operation.name="chat""#])
    }

    @Test func aFieldInsideTheJSONNamedLikeTheFieldItCameFromIsKept() throws {
        let yaml = "[ { type: kv }, { type: json, field: payload } ]"
        let records = try parse([#"a=1 payload="{\"foo\":\"bar\",\"payload\":\"self\"}""#, #"a=2 payload="not json""#], with: yaml)
        #expect(records.records[0].attributes["payload"] == .string("self"))
        #expect(records.records[0].attributes["foo"] == .string("bar"))
        #expect(records.records[1].parseError != nil)
        #expect(records.records[1].attributes["payload"] == .string("not json"))
    }

    @Test func deadLetterPolicyWritesTheLineAndRemovesIt() throws {
        let directory = temporaryDirectory()
        var records = batch([#"{"ok":1}"#, "not json"])
        for parser in try parsers("[ { type: json, on_error: dead_letter } ]", dataDirectory: directory) { parser.parse(&records) }
        #expect(records.records.count == 1)
        let written = try FileSystem.read(directory + "/dead-letter-test.ndjson")
        let entry = try JSONReader.parse(written.dropLast())
        #expect(entry["raw"] == .string("not json"))
        #expect(entry["source"] == .string("app.log"))
        #expect(entry["offset"] == .int(9))
        #expect(entry["parse_error"] != nil)
    }
}

@Suite struct ArbitraryInputTests {
    /// Random lines: raw bytes, and mutations of real log lines (which reach deeper into both parsers).
    func lines(count: Int, seed: UInt64) throws -> [[UInt8]] {
        var random = SeededRandom(seed: seed)
        let samples = try String(contentsOfFile: repositoryRoot() + "/examples/logs/llm-app.jsonl", encoding: .utf8)
            .split(separator: "\n").map { Array($0.utf8) }
            + (try String(contentsOfFile: repositoryRoot() + "/examples/logs/llm-app.logfmt", encoding: .utf8))
            .split(separator: "\n").map { Array($0.utf8) }
        return (0..<count).map { index in
            if index % 2 == 0 {
                return (0..<Int.random(in: 0..<200, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            }
            var line = samples[Int.random(in: 0..<samples.count, using: &random)]
            for _ in 0..<Int.random(in: 1..<6, using: &random) where !line.isEmpty {
                let position = Int.random(in: 0..<line.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: line[position] = UInt8.random(in: 0...255, using: &random)
                case 1: line.remove(at: position)
                default: line.insert(Array(#"{}[]":=\ "#.utf8).randomElement(using: &random)!, at: position)
                }
            }
            return line.filter { $0 != 0x0A }
        }
    }

    @Test(arguments: ["[ { type: json } ]", "[ { type: kv } ]", #"[ { type: kv, pattern: '(?<a>\w+)=(?<b>\S*)' } ]"#])
    func arbitraryBytesNeverCrashAParser(_ yaml: String) async throws {
        let inputs = try lines(count: 20_000, seed: 42)
        let parsers = try parsers(yaml)
        // Parse errors are thrown inside the parsers, and the test library captures a backtrace for each: slow,
        // so this runs off the cooperative threads that the other tests need.
        let records = try await onOwnThread { () -> RecordBatch in
            var records = RecordBatch(ack: AckToken(0))
            for (index, line) in inputs.enumerated() {
                records.append(line, position: SourcePosition(source: "fuzz", offsets: UInt64(index)..<UInt64(index + 1)), observedTime: 1)
            }
            for parser in parsers { parser.parse(&records) }
            SpanDefaults.apply(to: &records)
            return records
        }
        #expect(records.records.count == inputs.count)
        #expect(records.records.allSatisfy { $0.traceID != nil && $0.spanID != nil && $0.name != nil })
    }
}
