import TraceTailCore

/// Accepts and drops every batch, counting what it dropped: for measuring a pipeline without a destination, and
/// for inputs whose records should only be checkpointed.
public struct DiscardOutput: DirectOutput {
    public struct Configuration: Decodable, Sendable {
        /// No options: reading the mapping with no keys makes any key an error.
        private enum CodingKeys: CodingKey {}

        public init() {}

        public init(from decoder: any Decoder) throws {
            _ = try decoder.container(keyedBy: CodingKeys.self)
        }
    }

    public static let kind = "discard"
    public static let summary = "Drops every span (counted in records_discarded_total); for benchmarks and dry runs."
    public static let options: [PluginOption] = []

    let discarded: MetricCounter

    public init(configuration: Configuration, context: PluginContext) {
        discarded = context.metrics.counter("records_discarded_total")
    }

    public func deliver(_ batch: RecordBatch) async throws {
        discarded.increment(by: batch.records.count)
    }
}
