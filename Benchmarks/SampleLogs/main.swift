import BenchmarkSupport

/// Prints `count` deterministic LLM-call log lines: `SampleLogs json|kv|cri count > file`. `cri` is the JSON lines
/// as containerd writes them (`<time> stdout F <line>`), every 1000th cut into two pieces (`P`, then `F`).
let format = CommandLine.arguments.dropFirst().first ?? "json"
let count = CommandLine.arguments.dropFirst(2).first.flatMap(Int.init) ?? 1_000_000
var chunk = ""
for n in 0..<count {
    let line = SampleLog.line(n, json: format != "kv")
    if format == "cri" {
        let nanoseconds = String(n % 1_000_000_000)
        let time = "2026-01-02T03:04:05." + String(repeating: "0", count: 9 - nanoseconds.count) + nanoseconds + "Z"
        if n % 1000 == 999 {
            let middle = line.utf8.index(line.startIndex, offsetBy: line.utf8.count / 2)
            chunk += "\(time) stdout P \(line[..<middle])\n\(time) stdout F \(line[middle...])"
        } else {
            chunk += "\(time) stdout F \(line)"
        }
    } else {
        chunk += line
    }
    chunk += "\n"
    if chunk.utf8.count > 1 << 20 {
        print(chunk, terminator: "")
        chunk = ""
    }
}
print(chunk, terminator: "")
