import BuiltinPlugins

/// Deterministic, realistic LLM-call log lines (about 270 bytes each), in JSON or logfmt.
public enum SampleLog {
    static let models = ["gpt-4o-mini", "gpt-4o", "claude-sonnet-4", "gemini-2.5-flash", "llama-3.1-70b"]
    static let providers = ["openai", "openai", "anthropic", "gcp.gemini", "groq"]
    static let messages = ["llm call", "chat completion", "summarise document", "tool call planner", "embedding batch"]

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// Line `n` in the given format.
    public static func line(_ n: Int, json: Bool) -> String {
        var seed = UInt64(n) &* 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            seed ^= seed >> 33
            seed &*= 0xff51_afd7_ed55_8ccd
            seed ^= seed >> 33
            return seed
        }
        let pick = Int(next() % 5)
        let millis = 1_767_225_600_000 + n * 7
        let ts = Timestamp.rfc3339(nanoseconds: UInt64(millis) * 1_000_000)
        let trace = hex(next()) + hex(next())
        let span = hex(next())
        let prompt = Int(next() % 4000)
        let completion = Int(next() % 800)
        let cost = Double(prompt * 3 + completion * 12) / 1e6
        let user = "user-\(next() % 10_000)"
        let latency = Int(next() % 5000)
        if json {
            return #"{"ts":"\#(ts)","level":"info","trace_id":"\#(trace)","span_id":"\#(span)","message":"\#(messages[pick])","model":"\#(models[pick])","provider":"\#(providers[pick])","prompt_tokens":\#(prompt),"completion_tokens":\#(completion),"cost_usd":\#(cost),"user_id":"\#(user)","latency_ms":\#(latency)}"#
        }
        return #"ts=\#(ts) level=info trace_id=\#(trace) span_id=\#(span) msg="\#(messages[pick])" model=\#(models[pick]) provider=\#(providers[pick]) prompt_tokens=\#(prompt) completion_tokens=\#(completion) cost_usd=\#(cost) user_id=\#(user) latency_ms=\#(latency)"#
    }

    /// `count` lines in batches of `batchSize` records, as an input would emit them.
    public static func batches(count: Int, batchSize: Int = 1000, json: Bool) -> [RecordBatch] {
        var offset: UInt64 = 0
        return stride(from: 0, to: count, by: batchSize).map { first in
            var batch = RecordBatch(ack: AckToken(UInt64(first)))
            for n in first..<min(first + batchSize, count) {
                let bytes = Array(line(n, json: json).utf8)
                batch.append(bytes, position: SourcePosition(source: "bench.log", offsets: offset..<offset + UInt64(bytes.count) + 1),
                             observedTime: 1_767_225_600_000_000_000)
                offset += UInt64(bytes.count) + 1
            }
            return batch
        }
    }
}

/// The parser a one-pipeline configuration declares, e.g. `{ type: json }`.
public func parser(_ yaml: String) -> any Parser {
    let text = "pipelines:\n  p:\n    input: { type: stdin }\n    parsers: [ \(yaml) ]\n    outputs: [ { type: console } ]\n"
    let config = try! ConfigLoader.load(text: text, file: "bench.yaml", registry: BuiltinPlugins.registry(), environment: [:])
    let context = PluginContext(pipeline: "bench", stageName: "parsers[0]", kind: "bench", logger: .init(label: "bench"),
                                dataDirectory: "/tmp/tracetail-bench")
    return try! config.pipelines[0].parsers[0].instantiate(context)
}
