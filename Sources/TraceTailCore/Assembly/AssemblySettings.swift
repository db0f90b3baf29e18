/// Trace assembly of one pipeline (`assembly:` under a pipeline): how records linked by span and parent ids, or
/// by a correlation field, are joined into traces, and how long a record may wait for the rest of its tree.
public struct AssemblySettings: Sendable, Decodable {
    /// Off: records go to the outputs as the parsers left them (ids the log lacks come from their position).
    public var enabled = true
    /// How long a record may wait for its tree's root (or an ancestor with a trace id) and for more lines of its
    /// span, counted from its first line. When it runs out, the record goes out as it is known then.
    public var wait = ConfigDuration.seconds(2)
    /// The most records held at once; past it the oldest are emitted early (and counted).
    public var maxPending = 10_000
    /// Fields whose value groups records that have no trace id and no parent into one trace, the first found
    /// wins (`trace_id_from` on a parser overrides them). The names request-id middlewares and log libraries use.
    public var correlationFields = ["request_id", "requestId", "RequestId", "req_id", "reqId", "x_request_id",
                                    "x-request-id", "http.request.id", "correlation_id", "correlationId",
                                    "CorrelationId"]

    public init() {}

    enum CodingKeys: String, CodingKey {
        case enabled, wait
        case maxPending = "max_pending"
        case correlationFields = "correlation_fields"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try container.decode(.enabled, into: &enabled)
        try container.decode(.wait, into: &wait)
        try container.decode(.maxPending, into: &maxPending)
        try container.decode(.correlationFields, into: &correlationFields)
        guard maxPending > 0 else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath + [CodingKeys.maxPending], debugDescription: "max_pending must be greater than zero"))
        }
    }

    /// `wait` in nanoseconds.
    var waitNanoseconds: UInt64 {
        let (seconds, attoseconds) = wait.duration.components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
    }
}
