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

/// Counts parse failures, warns about them now and then (naming source and offset), and applies the policy; counts
/// the records whose time could not be read too.
public struct ParseFailureHandler: Sendable {
    public let policy: ParseFailurePolicy
    let context: PluginContext
    let failures: MetricCounter
    let dropped: MetricCounter
    /// Records whose time field could not be read (`tracetail_time_unparsed_total`).
    let unreadableTimes: MetricCounter
    let deadLetters: DeadLetterFile

    public init(policy: ParseFailurePolicy, context: PluginContext) {
        self.policy = policy
        self.context = context
        failures = context.metrics.counter("parse_errors_total")
        dropped = context.metrics.counter("records_dropped_total")
        unreadableTimes = context.metrics.counter("time_unparsed_total")
        deadLetters = DeadLetterFile(directory: context.dataDirectory, name: context.stageName, writes: context.dataWrites)
    }

    /// Parse failures so far.
    public var count: Int { failures.value }

    /// Records whose time could not be read, so far.
    public var unreadableTimeCount: Int { unreadableTimes.value }

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

    /// Counts what mapping a record reported: an unreadable time is warned about now and then, like a failure.
    public func count(_ report: FieldMapper.Report, at position: @autoclosure () -> SourcePosition) {
        guard let time = report.unreadableTime else { return }
        if unreadableTimes.value % 10_000 == 0 {
            let position = position()
            context.logger.warning("cannot read a record's time; its start is the read time", metadata: [
                "source": "\(position.source)", "offset": "\(position.offsets.lowerBound)",
                "time": "\(time)",
                "unreadable_so_far": "\(unreadableTimes.value + 1)",
            ])
        }
        unreadableTimes.increment()
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
