import CoreMetrics
import Synchronization

/// Creates metrics labelled with a pipeline and a stage.
public struct MetricsScope: Sendable {
    public var pipeline: String
    public var stage: String
    public var kind: String

    public init(pipeline: String, stage: String, kind: String) {
        self.pipeline = pipeline
        self.stage = stage
        self.kind = kind
    }

    /// A counter named `tracetail_<name>` with this scope's labels.
    public func counter(_ name: String) -> MetricCounter {
        MetricCounter(label: "tracetail_\(name)", dimensions: dimensions)
    }

    /// A counter with labels beyond the scope's, e.g. a route and a status.
    public func counter(_ name: String, labels: [(String, String)]) -> MetricCounter {
        MetricCounter(label: "tracetail_\(name)", dimensions: dimensions + labels)
    }

    /// A gauge named `tracetail_<name>` with this scope's labels.
    public func gauge(_ name: String) -> MetricGauge {
        MetricGauge(label: "tracetail_\(name)", dimensions: dimensions)
    }

    private var dimensions: [(String, String)] { [("pipeline", pipeline), ("stage", stage), ("kind", kind)] }
}

/// A counter exported through swift-metrics that can also be read back, for the end-of-run summary and tests.
public final class MetricCounter: Sendable {
    private let total = Atomic<Int>(0)
    private let exported: Counter

    public init(label: String, dimensions: [(String, String)]) {
        exported = Counter(label: label, dimensions: dimensions)
    }

    public func increment(by amount: Int = 1) {
        guard amount > 0 else { return }
        total.add(amount, ordering: .relaxed)
        exported.increment(by: amount)
    }

    public var value: Int { total.load(ordering: .relaxed) }
}

/// A gauge exported through swift-metrics that can also be read back.
public final class MetricGauge: Sendable {
    private let current = Atomic<Int>(0)
    private let exported: Gauge

    public init(label: String, dimensions: [(String, String)]) {
        exported = Gauge(label: label, dimensions: dimensions)
    }

    public func set(_ value: Int) {
        current.store(value, ordering: .relaxed)
        exported.record(value)
    }

    public var value: Int { current.load(ordering: .relaxed) }
}
