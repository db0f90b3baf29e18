/// What produced a record — a pod's container, a host — as OpenTelemetry resource attributes. One instance is
/// shared by every record of a source (a reference, not a copy per record); OTLP requests put the spans of equal
/// resources into one `ResourceSpans`.
public final class Resource: Sendable, Equatable {
    public let attributes: Attributes

    public init(_ attributes: Attributes) {
        self.attributes = attributes
    }

    public static func == (lhs: Resource, rhs: Resource) -> Bool {
        lhs === rhs || lhs.attributes == rhs.attributes
    }
}
