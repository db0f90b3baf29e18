import TraceTailCore

/// Parses each record as one JSON object into attributes (nested objects as dotted keys).
public struct JSONParser: Parser {
    /// What happens to a record that is not a JSON object.
    public enum ErrorPolicy: String, ConfigChoice {
        /// Pass it on with its raw text as the span name, marked with `tracetail.parse_error`.
        case keep
        /// Leave it out (it is counted).
        case drop
    }

    public struct Configuration: Decodable, Sendable {
        public var onError = ErrorPolicy.keep

        enum CodingKeys: String, CodingKey {
            case onError = "on_error"
        }

        public init() {}

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            onError = try container.decodeIfPresent(ErrorPolicy.self, forKey: .onError) ?? onError
        }
    }

    public static let kind = "json"
    public static let summary = "One JSON object per record into attributes; nested objects become dotted keys."
    public static let options = [
        PluginOption("on_error", ErrorPolicy.choices, default: "keep",
                     "A record that is not a JSON object is passed on raw (keep) or left out (drop); both are counted."),
    ]

    let configuration: Configuration
    let context: PluginContext
    let failures: MetricCounter
    let dropped: MetricCounter

    public init(configuration: Configuration, context: PluginContext) {
        self.configuration = configuration
        self.context = context
        failures = context.metrics.counter("parse_errors_total")
        dropped = context.metrics.counter("records_dropped_total")
    }

    public func parse(_ batch: inout RecordBatch) {
        var failed: [Int] = []
        for index in batch.records.indices {
            let problem: String
            do {
                if case .object(let members) = try JSONReader.parse(batch.raw(batch.records[index])) {
                    JSONFlattener.flatten(members, into: &batch.records[index].attributes)
                    FieldMapping.apply(to: &batch.records[index])
                    continue
                }
                problem = "expected a JSON object"
            } catch {
                problem = error.description
            }
            let position = batch.records[index].position
            batch.records[index].parseError = problem
            batch.records[index].attributes["tracetail.parse_error"] = .string(problem)
            failed.append(index)
            if failures.value % 1000 == 0 {
                context.logger.warning("record is not a JSON object", metadata: [
                    "source": "\(position.source)", "offset": "\(position.offsets.lowerBound)",
                    "error": "\(problem)", "failures_so_far": "\(failures.value + 1)",
                ])
            }
            failures.increment()
        }
        if configuration.onError == .drop && !failed.isEmpty {
            dropped.increment(by: failed.count)
            batch.records.remove(atOffsets: failed)
        }
    }
}

extension Array {
    /// Removes the elements at the given ascending offsets.
    mutating func remove(atOffsets offsets: [Int]) {
        var iterator = offsets.makeIterator()
        var next = iterator.next()
        var kept = 0
        for index in indices {
            if index == next {
                next = iterator.next()
            } else {
                swapAt(kept, index)
                kept += 1
            }
        }
        removeLast(count - kept)
    }
}
