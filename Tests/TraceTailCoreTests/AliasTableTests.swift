import Foundation
import Testing
import TestSupport
@testable import TraceTailCore

/// The alias table is declared once: the mapper reads it and the README's table is generated from it.
@Suite struct AliasTableTests {
    @Test func aliasTable() throws {
        let path = repositoryRoot() + "/README.md"
        let readme = try String(contentsOfFile: path, encoding: .utf8)
        let begin = try #require(readme.range(of: "<!-- aliases:begin -->\n"))
        let end = try #require(readme.range(of: "<!-- aliases:end -->"))
        if ProcessInfo.processInfo.environment["TRACETAIL_BLESS"] != nil {
            try (readme[..<begin.upperBound] + AliasTable.markdown + readme[end.lowerBound...]).write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        #expect(String(readme[begin.upperBound..<end.lowerBound]) == AliasTable.markdown,
                "the README's alias table is out of date: TRACETAIL_BLESS=1 swift test --filter aliasTable")
    }

    @Test func everyFieldNameIsDeclaredOnce() {
        var seen: [String: Int] = [:]
        for row in AliasTable.rows { for field in row.fields { seen[field, default: 0] += 1 } }
        #expect(seen.filter { $0.value > 1 }.isEmpty, "\(seen.filter { $0.value > 1 })")
    }

    @Test func everyRowIsWhatTheMapperDoes() {
        for row in AliasTable.rows {
            for field in row.fields { #expect(FieldMapper.aliases[field] == row.target, "\(field)") }
        }
    }
}
