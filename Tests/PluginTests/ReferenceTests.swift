import BuiltinPlugins
import Testing
import TestSupport
import TraceTailCore

/// The README's configuration reference is what `tracetail plugins --format markdown` prints.
@Suite struct ReferenceTests {
    @Test func configurationReference() throws {
        let generated = try BuiltinPlugins.registry().markdownReference
        #expect(try readmeSection("plugins", generated: generated) == generated,
                "the README's reference is out of date: TRACETAIL_BLESS=1 swift test --filter configurationReference")
        // Every option of every plugin is in it.
        for entry in try BuiltinPlugins.registry().entries {
            #expect(generated.contains("#### `\(entry.type.kind)`"))
            for option in entry.options { #expect(generated.contains("| `\(option.name)` |"), "\(entry.type.kind).\(option.name)") }
        }
    }
}
