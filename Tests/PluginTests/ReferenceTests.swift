import BuiltinPlugins
import Foundation
import Testing
import TestSupport
import TraceTailCore

/// The README's configuration reference is what `tracetail plugins --format markdown` prints.
@Suite struct ReferenceTests {
    @Test func configurationReference() throws {
        let path = repositoryRoot() + "/README.md"
        let readme = try String(contentsOfFile: path, encoding: .utf8)
        let begin = try #require(readme.range(of: "<!-- plugins:begin -->\n"))
        let end = try #require(readme.range(of: "<!-- plugins:end -->"))
        let generated = try BuiltinPlugins.registry().markdownReference
        if ProcessInfo.processInfo.environment["TRACETAIL_BLESS"] != nil {
            try (readme[..<begin.upperBound] + generated + readme[end.lowerBound...]).write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        #expect(String(readme[begin.upperBound..<end.lowerBound]) == generated,
                "the README's reference is out of date: TRACETAIL_BLESS=1 swift test --filter configurationReference")
        // Every option of every plugin is in it.
        for entry in try BuiltinPlugins.registry().entries {
            #expect(generated.contains("#### `\(entry.type.kind)`"))
            for option in entry.options { #expect(generated.contains("| `\(option.name)` |"), "\(entry.type.kind).\(option.name)") }
        }
    }
}
