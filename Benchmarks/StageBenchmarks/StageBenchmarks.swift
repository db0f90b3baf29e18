import Benchmark
import BenchmarkSupport
import BuiltinPlugins

// One benchmark per hot stage: splitting lines, parsing + mapping, encoding OTLP requests.

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

    let lines = Array((0..<lineCount).map { SampleLog.line($0, json: true) + "\n" }.joined().utf8)
    Benchmark("split lines, 1M lines, \(lines.count / lineCount) B/line") { benchmark in
        var splitter = LineSplitter(source: "bench.log")
        var total = 0
        benchmark.startMeasurement()
        lines.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + (256 << 10), bytes.count)
                var batch = RecordBatch(ack: AckToken(0))
                splitter.consume(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]), into: &batch, observedTime: 0)
                total += batch.records.count
                offset = end
            }
        }
        benchmark.stopMeasurement()
        blackHole(total)
    }

    // Spans as the json parser makes them, encoded in requests of 1000 as the otlp output sends them.
    var spans = SampleLog.batches(count: lineCount, json: true)
    let parse = parser("{ type: json }")
    for index in spans.indices {
        parse.parse(&spans[index])
        SpanDefaults.apply(to: &spans[index])
    }
    let resource: [(key: String, value: AttributeValue)] = [("service.name", .string("bench"))]
    Benchmark("encode OTLP protobuf, 1M spans") { benchmark in
        var bytes = 0
        for batch in spans { bytes += OTLPProtobuf.request(RecordSelection(batch), resource: resource, scope: OTLPScope()).readableBytes }
        blackHole(bytes)
    }
    Benchmark("encode OTLP/JSON, 1M spans") { benchmark in
        var bytes = 0
        for batch in spans { bytes += OTLPJSON.request(RecordSelection(batch), resource: resource, scope: OTLPScope()).readableBytes }
        blackHole(bytes)
    }
}
