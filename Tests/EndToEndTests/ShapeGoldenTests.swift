import Foundation
import Testing
import TestSupport
import TraceTailCore

/// Every sample in `examples/logs/shapes/` — one per common logging library and LLM SDK, in its default output
/// shape — run through `tracetail test --format json` gives exactly the spans in its `.expected.json`, reviewed by
/// hand. `TRACETAIL_BLESS=1` rewrites those files from the output (then review the diff).
@Suite struct ShapeGoldenTests {
    static let directory = "examples/logs/shapes"
    /// The shapes issue #17 surveyed: each must have a sample.
    static let surveyed = ["python-logging", "python-json-logger", "structlog", "loguru", "pino", "bunyan", "winston",
                           "zap", "logrus", "slog-json", "slog-text", "docker-json-file", "openai-chat", "openai-responses",
                           "anthropic", "litellm", "langchain"]

    /// The samples: every `.jsonl` and `.log` file of the directory.
    static func samples() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: repositoryRoot() + "/" + directory)) ?? []
        return files.filter { $0.hasSuffix(".jsonl") || $0.hasSuffix(".log") }.sorted()
    }

    @Test func everySurveyedShapeHasASampleAndASource() throws {
        let samples = Self.samples().map { $0.prefix { $0 != "." } }
        let sources = try String(contentsOfFile: repositoryRoot() + "/\(Self.directory)/SOURCES.md", encoding: .utf8)
        for shape in Self.surveyed {
            #expect(samples.contains(Substring(shape)), "no sample for \(shape)")
            #expect(sources.contains("`\(shape)`"), "SOURCES.md does not name \(shape)")
        }
    }

    @Test(arguments: samples())
    func theSampleGivesItsExpectedSpans(_ sample: String) async throws {
        let root = repositoryRoot()
        let base = Self.directory + "/" + sample.prefix { $0 != "." }
        let config = FileManager.default.fileExists(atPath: root + "/" + base + ".yaml") ? base + ".yaml" : Self.directory + "/json.yaml"
        let readFrom = Clock.nowNanoseconds
        let result = try await runTracetail(
            ["test", "-c", config, "--input", Self.directory + "/" + sample, "--format", "json"], directory: root)
        let readUntil = Clock.nowNanoseconds
        #expect(result.status == 0, "\(result.stderr)")
        let document = try JSONReader.parse(Array(result.stdout.utf8))
        let spans = try #require(document["spans"]?.items)
        #expect(!spans.isEmpty)
        for span in spans {
            // No span is named after the logger that wrote it.
            if let logger = span["attributes"]?["logger.name"] { #expect(span["name"] != logger, "\(sample): \(span)") }
        }
        // Times that came from the read time, not the log, differ per run: shown as such.
        let stable = spans.map { span -> JSONValue in
            guard case .object(let members) = span else { return span }
            return .object(members.map { key, value in
                if key.hasSuffix("_time_unix_nano"), case .int(let time) = value, (readFrom...readUntil).contains(UInt64(time)) {
                    return (key, .string("the read time"))
                }
                return (key, value)
            })
        }
        let produced = PrettyJSON.text(.object([("spans", .array(stable)), ("parse_errors", document["parse_errors"] ?? .array([]))]))
        let expected = root + "/" + base + ".expected.json"
        if ProcessInfo.processInfo.environment["TRACETAIL_BLESS"] != nil {
            try produced.write(toFile: expected, atomically: true, encoding: .utf8)
        }
        #expect(produced == (try String(contentsOfFile: expected, encoding: .utf8)), "\(sample): TRACETAIL_BLESS=1 rewrites it")
    }
}

/// JSON indented by two spaces, one member or element a line; arrays of scalars stay on one line.
enum PrettyJSON {
    static func text(_ value: JSONValue) -> String {
        var out = ""
        write(value, indent: "", into: &out)
        return out + "\n"
    }

    private static func write(_ value: JSONValue, indent: String, into out: inout String) {
        let inner = indent + "  "
        switch value {
        case .object(let members) where !members.isEmpty:
            out += "{\n"
            for (index, member) in members.enumerated() {
                out += inner + JSONFlattener.text(.string(member.key)) + ": "
                write(member.value, indent: inner, into: &out)
                out += index == members.count - 1 ? "\n" : ",\n"
            }
            out += indent + "}"
        case .array(let items) where items.contains(where: { if case .object = $0 { true } else if case .array = $0 { true } else { false } }):
            out += "[\n"
            for (index, item) in items.enumerated() {
                out += inner
                write(item, indent: inner, into: &out)
                out += index == items.count - 1 ? "\n" : ",\n"
            }
            out += indent + "]"
        default:
            out += JSONFlattener.text(value)
        }
    }
}
