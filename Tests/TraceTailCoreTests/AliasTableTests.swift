import Testing
import TestSupport
@testable import TraceTailCore

/// The alias table is declared once: the mapper reads it and the README's table is generated from it.
@Suite struct AliasTableTests {
    @Test func aliasTable() throws {
        #expect(try readmeSection("aliases", generated: AliasTable.markdown) == AliasTable.markdown,
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
