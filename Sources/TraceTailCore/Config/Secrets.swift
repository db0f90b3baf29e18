import Synchronization

/// Remembers every secret value the configuration holds and scrubs them from any text about to be printed:
/// log messages and metadata, errors, `validate` output.
public final class Redactor: Sendable {
    public static let shared = Redactor()

    /// What a secret is replaced with.
    public static let mask = "[REDACTED]"

    private let secrets = Mutex<Set<String>>([])

    /// Registers a secret value. Very short values are not registered: scrubbing them would mangle ordinary text.
    public func register(_ value: String) {
        guard value.utf8.count >= 4 else { return }
        secrets.withLock { _ = $0.insert(value) }
    }

    /// The text with every registered secret replaced by the mask.
    public func redact(_ text: String) -> String {
        let known = secrets.withLock { $0 }
        guard !known.isEmpty else { return text }
        var result = text
        // Longest first, so that a secret containing another is masked whole.
        for secret in known.sorted(by: { $0.utf8.count > $1.utf8.count }) where result.contains(secret) {
            result = result.replacing(secret, with: Redactor.mask)
        }
        return result
    }

    /// True when a configuration key's name says it holds a secret (`api_key`, `bearer_secret`, `token`, …);
    /// `*_file` keys hold the path of a secret, not the secret.
    public static func isSecretKey(_ key: String) -> Bool {
        let lower = key.lowercased()
        if lower.hasSuffix("_file") { return false }
        return ["key", "secret", "token", "password", "passwd", "credential", "authorization"]
            .contains { lower.contains($0) }
    }
}

/// A configuration value that must never be printed: API keys, bearer secrets, HMAC keys.
///
/// Its `description` is masked, and decoding one registers the value with `Redactor.shared`.
public struct Secret: Sendable, Hashable, Decodable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The secret itself, for the one place that sends it.
    public let value: String

    public init(_ value: String) {
        self.value = value
        Redactor.shared.register(value)
    }

    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public var description: String { Redactor.mask }
    public var debugDescription: String { Redactor.mask }
}

extension KeyedDecodingContainer {
    /// A secret given inline under `key` or read from the file named under `fileKey` (e.g. a mounted Kubernetes
    /// secret), not both; nil when neither is there.
    public func decodeSecret(_ key: Key, file fileKey: Key) throws -> Secret? {
        let inline = try decodeIfPresent(Secret.self, forKey: key)
        guard let file = try decodeIfPresent(String.self, forKey: fileKey) else { return inline }
        guard inline == nil else {
            throw ConfigValueError("give \(key.stringValue) or \(fileKey.stringValue), not both", codingPath: codingPath + [fileKey])
        }
        do {
            return Secret(String(decoding: try FileSystem.read(file), as: UTF8.self).trimmingWhitespace())
        } catch {
            throw ConfigValueError("\(error)", codingPath: codingPath + [fileKey])
        }
    }
}
