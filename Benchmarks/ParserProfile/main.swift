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
let rounds = 7
var seconds: [Double] = []
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
    seconds.append(Date().timeIntervalSince(start))
    blackHole(fresh)
}
// The machine is shared: the median round is the figure, the best one shows what the code can do.
seconds.sort()
let bytes = batches.reduce(0) { $0 + $1.storage.count }
let median = seconds[rounds / 2]
print("\(format): median \(Int(Double(count) / median)) lines/s (\(Int(Double(bytes) / median / 1e6)) MB/s), best \(Int(Double(count) / seconds[0])) lines/s")

@inline(never) func blackHole<T>(_ value: T) { withExtendedLifetime(value) {} }
