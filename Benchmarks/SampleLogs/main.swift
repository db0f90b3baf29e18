import BenchmarkSupport

/// Prints `count` deterministic LLM-call log lines: `SampleLogs json|kv count > file`.
let format = CommandLine.arguments.dropFirst().first ?? "json"
let count = CommandLine.arguments.dropFirst(2).first.flatMap(Int.init) ?? 1_000_000
var chunk = ""
for n in 0..<count {
    chunk += SampleLog.line(n, json: format == "json")
    chunk += "\n"
    if chunk.utf8.count > 1 << 20 {
        print(chunk, terminator: "")
        chunk = ""
    }
}
print(chunk, terminator: "")
