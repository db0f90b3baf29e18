import Benchmark
import BenchmarkSupport
import BuiltinPlugins

let lineCount = 1_000_000

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput, .mallocCountTotal, .peakMemoryResident],
        timeUnits: .nanoseconds,
        scalingFactor: .mega,
        maxDuration: .seconds(60),
        maxIterations: 5)

    let variants: [(name: String, json: Bool, parser: String)] = [
        ("json", true, "{ type: json }"),
        ("kv", false, "{ type: kv }"),
        ("kv pattern (3 groups)", false,
         #"{ type: kv, pattern: '^ts=(?<ts>\S+) level=(?<level>\w+) .*? model=(?<model>\S+)' }"#),
    ]
    for variant in variants {
        let batches = SampleLog.batches(count: lineCount, json: variant.json)
        let bytes = batches.reduce(0) { $0 + $1.storage.count }
        let parse = parser(variant.parser)
        Benchmark("parse+map \(variant.name), 1M lines, \(bytes / lineCount) B/line") { benchmark in
            // Fresh records as an input would have built them; only parsing and mapping are measured.
            var fresh = batches.map { batch in
                var copy = batch
                copy.records[0].observedTime += 0
                return copy
            }
            benchmark.startMeasurement()
            for index in fresh.indices {
                parse.parse(&fresh[index])
                SpanDefaults.apply(to: &fresh[index])
            }
            benchmark.stopMeasurement()
            blackHole(fresh)
        }
    }
}
