import Logging
#if canImport(Glibc)
import Glibc
#endif

/// How log lines look on stderr.
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json
}

/// Writes log lines to stderr as text or JSON, with every known secret masked.
public struct StderrLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public let label: String
    public let format: LogFormat

    public init(label: String, format: LogFormat, level: Logger.Level) {
        self.label = label
        self.format = format
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let time = Timestamp.rfc3339(nanoseconds: Clock.nowNanoseconds, fractionDigits: 3)
        let redactor = Redactor.shared
        var line: [UInt8]
        switch format {
        case .text:
            var text = "\(time) \(event.level.rawValue.uppercased()) \(redactor.redact("\(event.message)"))"
            for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
                text += " \(key)=\(redactor.redact("\(value)"))"
            }
            line = Array(text.utf8)
        case .json:
            var writer = JSONWriter()
            writer.object { members in
                members.string("time", time)
                members.string("level", event.level.rawValue)
                members.string("message", redactor.redact("\(event.message)"))
                for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
                    members.string(key, redactor.redact("\(value)"))
                }
            }
            line = writer.bytes
        }
        line.append(UInt8(ascii: "\n"))
        try? FileSystem.writeAll(line, to: STDERR_FILENO, path: "stderr")
    }

    /// Bootstraps swift-log with this handler for the whole process.
    public static func bootstrap(format: LogFormat, level: Logger.Level) {
        LoggingSystem.bootstrap { label in StderrLogHandler(label: label, format: format, level: level) }
    }
}
