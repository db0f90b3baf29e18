import Foundation
import Testing
@testable import TraceTailCore

/// `../shared/testdata/JSONTestSuite/test_parsing`, beside the repository.
let jsonSuiteDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("shared/testdata/JSONTestSuite/test_parsing").path

func jsonSuiteFiles(_ prefix: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: jsonSuiteDirectory)) ?? [])
        .filter { $0.hasPrefix(prefix) }.sorted()
}

/// Whether the corpus is there: a user's clone has no `../shared`, so the corpus tests are skipped there, saying
/// why; CI (`CI` set) has it and runs them — and fails if it is missing.
let jsonSuiteAvailable = FileManager.default.fileExists(atPath: jsonSuiteDirectory)
    || ProcessInfo.processInfo.environment["CI"] != nil

@Suite(.enabled(if: jsonSuiteAvailable, "JSONTestSuite is not beside the repository (../shared/testdata): corpus tests skipped"))
struct JSONReaderCorpusTests {
    @Test func theCorpusIsThere() {
        #expect(jsonSuiteFiles("y_").count > 90)
        #expect(jsonSuiteFiles("n_").count > 180)
    }

    @Test(arguments: jsonSuiteFiles("y_"))
    func acceptsEveryValidDocument(_ name: String) throws {
        let bytes = try FileSystem.read(jsonSuiteDirectory + "/" + name)
        #expect(throws: Never.self) { try JSONReader.parse(bytes) }
    }

    @Test(arguments: jsonSuiteFiles("n_"))
    func rejectsEveryInvalidDocument(_ name: String) throws {
        let bytes = try FileSystem.read(jsonSuiteDirectory + "/" + name)
        #expect(throws: JSONReader.Failure.self) { try JSONReader.parse(bytes) }
    }

    @Test(arguments: jsonSuiteFiles("i_"))
    func neverCrashesOnImplementationDefinedDocuments(_ name: String) throws {
        let bytes = try FileSystem.read(jsonSuiteDirectory + "/" + name)
        _ = try? JSONReader.parse(bytes)
    }
}

@Suite struct JSONReaderTests {
    @Test func valuesKeepTheirTypesAndOrder() throws {
        let value = try JSONReader.parse(Array(#"{"b":1,"a":-2.5,"c":[true,null,"x"],"big":12345678901234567890,"e":1e3}"#.utf8))
        #expect(value == .object([
            ("b", .int(1)), ("a", .double(-2.5)), ("c", .array([.bool(true), .null, .string("x")])),
            ("big", .double(1.2345678901234567e19)), ("e", .double(1000)),
        ]))
    }

    @Test func escapesAndSurrogatePairs() throws {
        let value = try JSONReader.parse(Array(#""tab\t quote\" slash\/ \u00e9 \ud83d\ude00 lone \ud800 end""#.utf8))
        #expect(value == .string("tab\t quote\" slash/ é 😀 lone \u{FFFD} end"))
    }

    @Test func invalidUTF8IsReplacedNotFatal() throws {
        let value = try JSONReader.parse([0x22, 0x61, 0xFF, 0x62, 0x22])
        #expect(value == .string("a\u{FFFD}b"))
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = Array(repeating: UInt8(ascii: "["), count: 100_000)
        #expect(throws: JSONReader.Failure.self) { try JSONReader.parse(deep) }
        let fine = Array(repeating: UInt8(ascii: "["), count: 500) + Array(repeating: UInt8(ascii: "]"), count: 500)
        #expect(throws: Never.self) { try JSONReader.parse(fine) }
    }

    @Test func errorsSayWhere() {
        do {
            _ = try JSONReader.parse(Array(#"{"a": tru}"#.utf8))
            Issue.record("accepted invalid JSON")
        } catch {
            #expect(error.description == "invalid literal at byte 6")
        }
    }
}

@Suite struct JSONWriterTests {
    @Test func roundTripsThroughTheReader() throws {
        let value = JSONValue.object([
            ("text", .string("line\nbreak \"quoted\" \\ \u{01} é 😀")), ("n", .int(-42)), ("d", .double(0.25)),
            ("list", .array([.bool(false), .null])), ("nested", .object([("k", .string(""))])),
        ])
        var writer = JSONWriter()
        writer.value(value)
        #expect(writer.text
            == #"{"text":"line\nbreak \"quoted\" \\ \u0001 é 😀","n":-42,"d":0.25,"list":[false,null],"nested":{"k":""}}"#)
        #expect(try JSONReader.parse(writer.bytes) == value)
    }

    @Test func nonFiniteDoublesBecomeNull() {
        var writer = JSONWriter()
        writer.array([Double.nan, .infinity, 3.0, 1e300]) { $0.double($1) }
        #expect(writer.text == "[null,null,3,1e+300]")
    }
}

@Suite struct JSONFlattenerTests {
    @Test func arraysKeepTheirShape() throws {
        #expect(JSONFlattener.attribute(try JSONReader.parse(Array(#"["x","y"]"#.utf8))) == .array([.string("x"), .string("y")]))
        #expect(JSONFlattener.attribute(try JSONReader.parse(Array(#"[1,"two"]"#.utf8))) == .string(#"[1,"two"]"#))
        #expect(JSONFlattener.attribute(try JSONReader.parse(Array("[[1]]".utf8))) == .string("[[1]]"))
        #expect(JSONFlattener.attribute(try JSONReader.parse(Array("[]".utf8))) == .array([]))
        #expect(JSONFlattener.attribute(try JSONReader.parse(Array(#"{"a":1}"#.utf8))) == .string(#"{"a":1}"#))
    }
}
