/// A duration written as `250ms`, `10s`, `5m`, `1h` or a plain number of seconds.
public struct ConfigDuration: Sendable, Hashable, Decodable, CustomStringConvertible {
    public var duration: Duration

    public init(_ duration: Duration) { self.duration = duration }

    public static func seconds(_ value: Int) -> ConfigDuration { ConfigDuration(.seconds(value)) }
    public static func milliseconds(_ value: Int) -> ConfigDuration { ConfigDuration(.milliseconds(value)) }

    public init(from decoder: any Decoder) throws {
        self = try decoder.decodeText("a duration such as 500ms, 10s, 5m or 1h", ConfigDuration.init(parsing:))
    }

    public init?(parsing text: String) {
        let trimmed = text.trimmingWhitespace()
        let units: [(suffix: String, scale: Double)] = [("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600), ("", 1)]
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            let number = trimmed.dropLast(unit.suffix.count).trimmingWhitespace()
            if let value = Double(number), value >= 0, value.isFinite {
                duration = .milliseconds(Int64((value * unit.scale * 1000).rounded()))
                return
            }
        }
        return nil
    }

    public var description: String { "\(duration)" }
}

/// A size in bytes written as `512`, `64KiB`, `10MiB`, `1GiB` (or `KB`/`MB`/`GB`, taken as powers of 1024 too).
public struct ByteSize: Sendable, Hashable, Decodable, CustomStringConvertible {
    public var bytes: Int

    public init(_ bytes: Int) { self.bytes = bytes }

    public static func mebibytes(_ value: Int) -> ByteSize { ByteSize(value << 20) }
    public static func kibibytes(_ value: Int) -> ByteSize { ByteSize(value << 10) }

    public init(from decoder: any Decoder) throws {
        self = try decoder.decodeText("a size such as 4096, 64KiB or 10MiB", ByteSize.init(parsing:))
    }

    public init?(parsing text: String) {
        let trimmed = text.trimmingWhitespace()
        let units: [(suffix: String, shift: Int)] = [
            ("KiB", 10), ("MiB", 20), ("GiB", 30), ("KB", 10), ("MB", 20), ("GB", 30), ("K", 10), ("M", 20),
            ("G", 30), ("B", 0), ("", 0),
        ]
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            if let value = Int(trimmed.dropLast(unit.suffix.count).trimmingWhitespace()), value >= 0,
               value <= Int.max >> unit.shift {
                bytes = value << unit.shift
                return
            }
        }
        return nil
    }

    public var description: String { "\(bytes) bytes" }
}

extension Decoder {
    /// A value written as text and read by `parse`; `expected` describes the form in the error.
    func decodeText<T>(_ expected: String, _ parse: (String) -> T?) throws -> T {
        let text = try singleValueContainer().decode(String.self)
        guard let value = parse(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "expected \(expected), found '\(text)'"))
        }
        return value
    }
}

extension StringProtocol {
    /// The text without leading and trailing ASCII whitespace.
    public func trimmingWhitespace() -> String {
        let bytes = Array(utf8)
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}

/// `host:port` to listen on.
public struct ListenAddress: Sendable, Decodable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ConfigValueError("expected host:port, e.g. 127.0.0.1:8080", codingPath: decoder.codingPath)
        }
        host = String(text[..<colon].filter { $0 != "[" && $0 != "]" })
        self.port = port
    }

    public var isLoopback: Bool { host == "localhost" || host.hasPrefix("127.") || host == "::1" }

    public var description: String { "\(host):\(port)" }
}
