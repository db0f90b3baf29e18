import Logging

/// What a parser does with a line it cannot parse.
public enum ParseFailurePolicy: String, ConfigChoice {
    /// Pass it on with its raw text as the span name, marked with the attribute `tracetail.parse_error`.
    case keep
    /// Leave it out.
    case drop
    /// Write it to the pipeline's dead-letter file and leave it out.
    case deadLetter = "dead_letter"
}

/// Counts parse failures, warns about them now and then (naming source and offset), and applies the policy.
public struct ParseFailureHandler: Sendable {
    public let policy: ParseFailurePolicy
    let context: PluginContext
    let failures: MetricCounter
    let dropped: MetricCounter
    let deadLetters: DeadLetterFile

    public init(policy: ParseFailurePolicy, context: PluginContext) {
        self.policy = policy
        self.context = context
        failures = context.metrics.counter("parse_errors_total")
        dropped = context.metrics.counter("records_dropped_total")
        deadLetters = DeadLetterFile(directory: context.dataDirectory, name: context.stageName, writes: context.dataWrites)
    }

    /// Parse failures so far.
    public var count: Int { failures.value }

    /// Marks the record as failed.
    public func fail(_ record: inout Record, _ problem: String) {
        record.parseError = problem
        record.attributes["tracetail.parse_error"] = .string(problem)
        if failures.value % 10_000 == 0 {
            context.logger.warning("cannot parse a record", metadata: [
                "source": "\(record.position.source)", "offset": "\(record.position.offsets.lowerBound)",
                "error": "\(problem)", "failures_so_far": "\(failures.value + 1)",
            ])
        }
        failures.increment()
    }

    /// Applies the policy to the failed records of a batch (indices ascending).
    public func settle(_ failed: [Int], in batch: inout RecordBatch) {
        guard !failed.isEmpty, policy != .keep else { return }
        if policy == .deadLetter {
            var rejected = RecordBatch(ack: batch.ack)
            for index in failed {
                let record = batch.records[index]
                rejected.append(batch.raw(record), position: record.position, observedTime: record.observedTime)
                rejected.records[rejected.records.count - 1].parseError = record.parseError
            }
            do {
                try deadLetters.write(rejected, output: context.stageName, reason: "parse error")
            } catch {
                // Keeping the records is the only way not to lose them (the failure is logged and counted once).
                return
            }
        }
        dropped.increment(by: failed.count)
        batch.records.remove(atOffsets: failed)
    }
}

extension Array {
    /// Removes the elements at the given ascending offsets, keeping the order of the rest.
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
