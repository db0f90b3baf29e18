import BenchmarkSupport
import BuiltinPlugins
import Foundation

let format = CommandLine.arguments[1]
let count = Int(CommandLine.arguments[2]) ?? 100_000
let yaml: String
switch format {
case "json": yaml = "{ type: json }"
case "kv": yaml = "{ type: kv }"
default: yaml = #"{ type: kv, pattern: '^ts=(?<ts>\S+) level=(?<level>\w+) .*? model=(?<model>\S+)' }"#
}
let batches = SampleLog.batches(count: count, json: format == "json")
let p = parser(yaml)
let rounds = 5
var seconds = 0.0
for _ in 0..<rounds {
    var fresh = batches.map { batch in
        var copy = batch
        copy.records[0].observedTime += 0 // copy now, as an input would have built it, not inside the parser
        return copy
    }
    let start = Date()
    for index in fresh.indices {
        p.parse(&fresh[index])
        SpanDefaults.apply(to: &fresh[index])
    }
    seconds += Date().timeIntervalSince(start)
    blackHole(fresh)
}
print("\(format): \(Int(Double(count * rounds) / seconds)) lines/s")

@inline(never) func blackHole<T>(_ value: T) { withExtendedLifetime(value) {} }
