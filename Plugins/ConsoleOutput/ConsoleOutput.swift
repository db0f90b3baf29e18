import TraceTailCore
#if canImport(Glibc)
import Glibc
#endif

/// Prints spans to standard output: one readable line per span, or NDJSON.
public struct ConsoleOutput: DirectOutput {
    public enum Format: String, ConfigChoice {
        case text, json
    }

    public struct Configuration: Decodable, Sendable {
        public var format = Format.text

        public init() {}

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            try container.decode(.format, into: &format)
        }

        enum CodingKeys: String, CodingKey { case format }
    }

    public static let kind = "console"
    public static let summary = "Prints spans to standard output, as readable lines or NDJSON."
    public static let options = [
        PluginOption("format", Format.choices, default: "text",
                     "text: one line per span with its ids, duration and attributes; json: one span object per line."),
    ]

    let configuration: Configuration

    public init(configuration: Configuration, context: PluginContext) {
        self.configuration = configuration
    }

    public func deliver(_ batch: RecordBatch) async throws {
        let bytes = render(batch)
        // Standard output may be a slow pipe: write off the cooperative threads.
        try await BlockingIO.run {
            try FileSystem.writeAll(bytes, to: STDOUT_FILENO, path: "stdout")
        }
    }

    /// The batch as the bytes this output prints.
    public func render(_ batch: RecordBatch) -> [UInt8] { render(batch.records) }

    public func previewRequests(_ records: [Record]) -> [RequestPreview] {
        [RequestPreview(contentType: configuration.format == .json ? "application/x-ndjson" : "text/plain", body: render(records))]
    }

    private func render(_ records: [Record]) -> [UInt8] {
        var writer = JSONWriter(capacity: records.count * 512)
        for record in records {
            switch configuration.format {
            case .json: SpanJSON.write(record, to: &writer)
            case .text: writer.output.append(Self.line(record))
            }
            writer.output.append(UInt8(ascii: "\n"))
        }
        return writer.bytes
    }

    /// `2026-01-01T00:00:00.100Z llm "chat gpt-4o" 1300ms trace=… span=… parent=… key=value …`
    static func line(_ record: Record) -> String {
        let start = record.startTime ?? record.observedTime
        var text = Timestamp.rfc3339(nanoseconds: start) + " " + (record.type ?? .span).rawValue
        text += " \"" + (record.name ?? "") + "\""
        if let end = record.endTime, end > start { text += " \(Timestamp.duration(end - start))" }
        text += " trace=\(record.traceID?.description ?? "-") span=\(record.spanID?.description ?? "-")"
        if let parent = record.parentSpanID { text += " parent=\(parent)" }
        if case .error(let message, _) = record.status { text += " error=\"\(message)\"" }
        if let cost = record.cost { text += " cost=$\(cost)" }
        for (label, payload) in [("input", record.input), ("output", record.output)] {
            guard let payload else { continue }
            var preview = SpanJSON.text(payload)
            if preview.count > 80 { preview = String(preview.prefix(80)) + "…" }
            text += " \(label)=\(preview)"
        }
        for (key, value) in record.attributes {
            var writer = JSONWriter()
            SpanJSON.attribute(value, &writer)
            text += " \(key)=" + writer.text
        }
        return text
    }

}
