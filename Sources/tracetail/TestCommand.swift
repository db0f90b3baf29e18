import ArgumentParser
import FoundationEssentials
import Glibc
import Logging
import TraceTailCore

/// Runs one pipeline's parsers on a sample file and shows the spans it would send — as a trace tree, or as the
/// exact request bodies of each output — with no network: how to write a configuration without guessing.
struct TestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test", abstract: "Shows the spans (or the requests) a pipeline would make from a sample, sending nothing.")

    @OptionGroup var options: ConfigOptions

    @Option(help: "A sample of the log, one record per line.")
    var input: String

    @Option(help: "The pipeline to use (needed when the configuration has several).")
    var pipeline: String?

    @Option(help: "tree (spans per trace), or json (spans, parse errors and each output's request bodies).")
    var format: Format = .tree

    enum Format: String, ExpressibleByArgument {
        case tree, json
    }

    func run() async throws {
        let config = try options.load()
        guard let spec = pipeline.map({ name in config.pipelines.first { $0.name == name } }) ?? (config.pipelines.count == 1 ? config.pipelines.first : nil) else {
            throw ValidationError(pipeline.map { "no pipeline '\($0)' in \(config.file)" }
                ?? "the configuration has \(config.pipelines.count) pipelines: name one with --pipeline (\(config.pipelines.map(\.name).joined(separator: ", ")))")
        }
        let sample = try FileSystem.read(input)
        let scratch = FileManager.default.temporaryDirectory.path + "/tracetail-test-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let logger = Logger(label: "tracetail.test", factory: { _ in SwiftLogNoOpLogHandler() })
        func context(_ stage: String, _ kind: String) -> PluginContext {
            PluginContext(pipeline: spec.name, stageName: stage, kind: kind, logger: logger, dataDirectory: scratch)
        }
        var batch = RecordBatch(ack: AckToken(0))
        var splitter = LineSplitter(source: input)
        sample.withUnsafeBytes { splitter.consume($0, into: &batch, observedTime: Clock.nowNanoseconds) }
        splitter.flushPartial(into: &batch, observedTime: Clock.nowNanoseconds)
        let lines = LineNumbers(sample)
        // The failures as the parsers saw them, before `on_error: drop | dead_letter` takes records away.
        var failures: [(line: Int, message: String)] = []
        for parser in spec.parsers {
            try parser.instantiate(context(parser.stageName, parser.kind)).parse(&batch)
            for record in batch.records {
                if let problem = record.parseError, !failures.contains(where: { $0.line == lines.line(at: record.position.offsets.lowerBound) }) {
                    failures.append((lines.line(at: record.position.offsets.lowerBound), problem))
                }
            }
        }
        if spec.assembly.enabled {
            TraceAssembler.assemble(sample: &batch, settings: spec.assembly,
                                    metrics: MetricsScope(pipeline: spec.name, stage: "assembly", kind: "assembly"))
        }
        SpanDefaults.apply(to: &batch)
        switch format {
        case .tree:
            print(TraceTree(batch.records).text, terminator: "")
            for failure in failures { print("line \(failure.line): \(failure.message)") }
        case .json:
            var writer = JSONWriter()
            writer.object { document in
                document("spans") { $0.array(batch.records) { SpanJSON.write($1, to: &$0, source: false) } }
                document("parse_errors") { writer in
                    writer.array(failures) { writer, failure in writer.object { $0.int("line", failure.line); $0.string("error", failure.message) } }
                }
                document("requests") { writer in
                    writer.array { list in
                        for output in spec.outputs {
                            guard let plugin = try? output.instantiate(context(output.stageName, output.kind)) else { continue }
                            for request in plugin.previewRequests(batch.records) {
                                list.element { writer in
                                    writer.object { entry in
                                        entry.string("output", "\(output.stageName) (\(output.kind))")
                                        entry.string("content_type", request.contentType)
                                        if request.contentType == "application/json", let body = try? JSONReader.parse(request.body) {
                                            entry.value("body", body)
                                        } else if request.contentType.hasPrefix("text/") || request.contentType.hasSuffix("ndjson") {
                                            entry.string("body", String(decoding: request.body, as: UTF8.self))
                                        } else {
                                            entry.string("body_base64", Data(request.body).base64EncodedString())
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            print(writer.text)
        }
    }
}

/// Byte offsets to 1-based line numbers.
struct LineNumbers {
    private var starts: [UInt64] = [0]

    init(_ bytes: [UInt8]) {
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") { starts.append(UInt64(index + 1)) }
    }

    func line(at offset: UInt64) -> Int {
        var low = 0
        var high = starts.count
        while high - low > 1 {
            let middle = (low + high) / 2
            if starts[middle] <= offset { low = middle } else { high = middle }
        }
        return low + 1
    }
}

/// Spans as trees per trace: trace → root spans → children, each with type, name, model, tokens, cost, duration.
struct TraceTree {
    let records: [Record]

    init(_ records: [Record]) { self.records = records }

    var text: String {
        var traces: [TraceID] = []
        var byTrace: [TraceID: [Record]] = [:]
        for record in records {
            guard let trace = record.traceID else { continue }
            if byTrace[trace] == nil { traces.append(trace) }
            byTrace[trace, default: []].append(record)
        }
        var out = ""
        for trace in traces {
            let spans = byTrace[trace]!.sorted { ($0.startTime ?? 0) < ($1.startTime ?? 0) }
            let start = spans.compactMap(\.startTime).min() ?? 0
            let end = spans.compactMap(\.endTime).max() ?? start
            out += "trace \(trace) — \(spans.count) span\(spans.count == 1 ? "" : "s"), \(Timestamp.duration(end - start))\n"
            let ids = Set(spans.compactMap(\.spanID))
            let roots = spans.filter { $0.parentSpanID.map { !ids.contains($0) } ?? true }
            for (index, root) in roots.enumerated() {
                write(root, spans, prefix: "", last: index == roots.count - 1, into: &out)
            }
        }
        return out
    }

    private func write(_ span: Record, _ spans: [Record], prefix: String, last: Bool, into out: inout String) {
        out += prefix + (last ? "└─ " : "├─ ") + describe(span) + "\n"
        let children = spans.filter { $0.parentSpanID != nil && $0.parentSpanID == span.spanID }
        for (index, child) in children.enumerated() {
            write(child, spans, prefix: prefix + (last ? "   " : "│  "), last: index == children.count - 1, into: &out)
        }
    }

    private func describe(_ span: Record) -> String {
        var parts = [(span.type ?? .span).rawValue, "\"\(span.name ?? "")\""]
        if case .string(let model)? = span.attributes["gen_ai.request.model"] { parts.append(model) }
        let input = span.attributes["gen_ai.usage.input_tokens"], output = span.attributes["gen_ai.usage.output_tokens"]
        if case .int(let tokensIn)? = input, case .int(let tokensOut)? = output {
            parts.append("\(tokensIn) in / \(tokensOut) out tokens")
        } else if case .int(let tokens)? = input ?? output {
            parts.append("\(tokens) tokens")
        }
        if let cost = span.cost { parts.append("$" + Self.sixDecimals(cost)) }
        if let start = span.startTime, let end = span.endTime { parts.append(Timestamp.duration(end - start)) }
        if case .error(let message, _) = span.status { parts.append("error: \(message)") }
        return parts.joined(separator: "  ")
    }

    /// `value` rounded to six decimals, as `%.6f` prints it (a value too large for that, or not finite, as it is).
    static func sixDecimals(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e12 else { return "\(value)" }
        let millionths = Int64((abs(value) * 1_000_000).rounded())
        let fraction = String(millionths % 1_000_000)
        return (value < 0 && millionths != 0 ? "-" : "") + "\(millionths / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }
}
