/// Moves well-known field names that parsers extracted into the record's canonical span fields.
///
/// Shared by every parser so that the same log field means the same thing whatever format it came in.
public enum FieldMapping {
    /// Field names that become the span name, in order of preference.
    public static let nameFields = ["message", "msg"]

    /// Applies the canonical fields to a record whose attributes a parser just filled.
    public static func apply(to record: inout Record) {
        if record.traceID == nil, case .string(let text)? = record.attributes["trace_id"], let id = TraceID(hex: text) {
            record.traceID = id
            record.attributes.remove("trace_id")
        }
        if record.spanID == nil, case .string(let text)? = record.attributes["span_id"], let id = SpanID(hex: text) {
            record.spanID = id
            record.attributes.remove("span_id")
        }
        for key in ["parent_id", "parent_span_id"] where record.parentSpanID == nil {
            if case .string(let text)? = record.attributes[key], let id = SpanID(hex: text) {
                record.parentSpanID = id
                record.attributes.remove(key)
            }
        }
        for key in nameFields where record.name == nil {
            if case .string(let text)? = record.attributes[key], !text.isEmpty {
                record.name = text
                record.attributes.remove(key)
            }
        }
    }
}
