import CSimdJSON
import Synchronization

/// Reads a JSON log line into flattened fields with simdjson, in one call per line.
///
/// Nested objects become dotted keys; arrays and the top-level keys named in `keepWhole` (payloads such as `input`)
/// come back as JSON text. What simdjson refuses (invalid UTF-8, lone surrogates, integers past 64 bits) goes to
/// the strict `JSONReader`, so one stray byte does not cost the whole line. Integers keep every digit: `Int64` where
/// they fit, otherwise their exact decimal text as a string.
public final class JSONFieldReader: Sendable {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    private final class Handle: @unchecked Sendable {
        // @unchecked: used only inside `lock`.
        let parser: OpaquePointer

        init(keepWhole: [String]) {
            guard let parser = tt_json_parser_create() else { fatalError("out of memory creating a JSON parser") }
            self.parser = parser
            for key in keepWhole {
                key.utf8CString.withUnsafeBufferPointer { tt_json_parser_keep_whole(parser, $0.baseAddress, $0.count - 1) }
            }
        }

        deinit { tt_json_parser_destroy(parser) }
    }

    private let lock: Mutex<Handle>
    private let keepWhole: Set<String>

    public init(keepWhole: [String] = []) {
        lock = Mutex(Handle(keepWhole: keepWhole))
        self.keepWhole = Set(keepWhole)
    }

    /// Runs `body` with exclusive use of the parser (take it once per batch, not per line).
    public func withSession<R>(_ body: (JSONFieldSession) throws -> R) rethrows -> R {
        try lock.withLock { handle in try body(JSONFieldSession(parser: handle.parser, keepWhole: keepWhole)) }
    }
}

/// The parser while its reader's lock is held; do not keep it beyond `withSession`.
public struct JSONFieldSession {
    let parser: OpaquePointer
    let keepWhole: Set<String>

    /// Parses one document and calls `field` for each of its fields, in document order; key and value are
    /// borrowed from the parser and valid during the call only.
    public func parse(_ bytes: UnsafeRawBufferPointer, _ field: (UnsafeRawBufferPointer, RawValue) -> Void) throws(JSONFieldReader.Failure) {
        var fields: UnsafePointer<tt_json_field>?
        var error: UnsafePointer<CChar>? // the strict reader's message says where, so that one is reported
        let count = tt_json_parse(parser, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count, &fields, &error)
        guard count >= 0, let fields else {
            return try parseRarely(bytes, field)
        }
        for entry in UnsafeBufferPointer(start: fields, count: Int(count)) {
            field(UnsafeRawBufferPointer(start: entry.key, count: entry.key_length), Self.value(entry))
        }
    }

    /// What simdjson refuses but a log line may still carry: invalid UTF-8 (replaced), lone surrogates (replaced),
    /// integers beyond 64 bits (kept as their decimal text). The strict reader takes those; its verdict is final.
    private func parseRarely(
        _ bytes: UnsafeRawBufferPointer, _ field: (UnsafeRawBufferPointer, RawValue) -> Void
    ) throws(JSONFieldReader.Failure) {
        let value: JSONValue
        do {
            value = try JSONReader.parse(bytes, exactIntegers: true)
        } catch {
            throw JSONFieldReader.Failure(description: "invalid JSON: \(error)")
        }
        func lend(_ key: String, _ value: FieldValue) {
            var key = key
            key.withUTF8 { name in value.withRawValue { field(UnsafeRawBufferPointer(name), $0) } }
        }
        guard case .object(let members) = value else { return lend("", Self.value(value)) }
        flatten(members, prefix: "", lend)
    }

    /// The same flattening as the shim's: dotted keys for objects, arrays and kept-whole objects as JSON text.
    private func flatten(_ members: [(key: String, value: JSONValue)], prefix: String, _ field: (String, FieldValue) -> Void) {
        for (key, value) in members {
            let name = prefix.isEmpty ? key : prefix + "." + key
            if case .object(let nested) = value, !(prefix.isEmpty && keepWhole.contains(key)) {
                flatten(nested, prefix: name, field)
            } else {
                field(name, Self.value(value))
            }
        }
    }

    static func value(_ value: JSONValue) -> FieldValue {
        switch value {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .int(let number): return .int(number)
        case .double(let number): return .double(number)
        case .string(let text): return .string(text)
        case .array, .object: return .json(JSONFlattener.text(value))
        }
    }

    static func value(_ entry: tt_json_field) -> RawValue {
        switch entry.kind {
        case TT_JSON_BOOL: return .bool(entry.integer != 0)
        case TT_JSON_INT: return .int(entry.integer)
        case TT_JSON_DOUBLE: return .double(entry.number)
        case TT_JSON_STRING: return .text(UnsafeRawBufferPointer(start: entry.value, count: entry.value_length))
        case TT_JSON_RAW: return .json(UnsafeRawBufferPointer(start: entry.value, count: entry.value_length))
        default: return .null
        }
    }
}
