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
let start = Date()
for _ in 0..<rounds {
    for batch in batches {
        var copy = batch
        p.parse(&copy)
        SpanDefaults.apply(to: &copy)
        blackHole(copy)
    }
}
let seconds = Date().timeIntervalSince(start)
print("\(format): \(Int(Double(count * rounds) / seconds)) lines/s")
