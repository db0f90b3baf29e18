import CSimdJSON
import Synchronization

/// Reads a JSON log line into flattened fields with simdjson, in one call per line.
///
/// Nested objects become dotted keys; arrays and the top-level keys named in `keepWhole` (payloads such as `input`)
/// come back as JSON text. Lines with invalid UTF-8 are parsed again with the bad bytes replaced, so one stray byte
/// does not cost the whole line.
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

    public init(keepWhole: [String] = []) {
        lock = Mutex(Handle(keepWhole: keepWhole))
    }

    /// Runs `body` with exclusive use of the parser (take it once per batch, not per line).
    public func withSession<R>(_ body: (JSONFieldSession) throws -> R) rethrows -> R {
        try lock.withLock { handle in try body(JSONFieldSession(parser: handle.parser)) }
    }
}

/// The parser while its reader's lock is held; do not keep it beyond `withSession`.
public struct JSONFieldSession {
    let parser: OpaquePointer

    /// Parses one document and calls `field` for each of its fields, in document order.
    public func parse(_ bytes: UnsafeRawBufferPointer, _ field: (String, FieldValue) -> Void) throws(JSONFieldReader.Failure) {
        var fields: UnsafePointer<tt_json_field>?
        var error: UnsafePointer<CChar>?
        var count = tt_json_parse(parser, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count, &fields, &error)
        if count < 0, let message = error, String(cString: message).contains("UTF-8") {
            // Replace invalid UTF-8 and try once more.
            let repaired = Array(String(decoding: bytes, as: UTF8.self).utf8)
            count = repaired.withUnsafeBytes {
                tt_json_parse(parser, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count, &fields, &error)
            }
        }
        guard count >= 0, let fields else {
            throw JSONFieldReader.Failure(description: error.map { String(cString: $0) } ?? "invalid JSON")
        }
        for entry in UnsafeBufferPointer(start: fields, count: Int(count)) {
            let key = String(decoding: UnsafeRawBufferPointer(start: entry.key, count: entry.key_length), as: UTF8.self)
            field(key, Self.value(entry))
        }
    }

    static func value(_ entry: tt_json_field) -> FieldValue {
        switch entry.kind {
        case TT_JSON_BOOL: return .bool(entry.integer != 0)
        case TT_JSON_INT: return .int(entry.integer)
        case TT_JSON_DOUBLE: return .double(entry.number)
        case TT_JSON_STRING, TT_JSON_RAW:
            let text = String(decoding: UnsafeRawBufferPointer(start: entry.value, count: entry.value_length), as: UTF8.self)
            return entry.kind == TT_JSON_STRING ? .string(text) : .json(text)
        default: return .null
        }
    }
}
