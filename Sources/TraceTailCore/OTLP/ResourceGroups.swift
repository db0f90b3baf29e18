/// The spans of one OTLP request grouped by resource: one `ResourceSpans` per distinct `Record.resource`, in the
/// order each first appears. A group's attributes are the output's own (`service.name`, `resource:`) with the
/// records' resource merged in; a key both have takes the records' value (it names the pod, the output only the
/// shipper).
struct ResourceGroups {
    /// The distinct resources; nil stands for records without one.
    private var resources: [Resource?] = []
    /// Each record's group, in the selection's order; empty while there is one group.
    private var groupOfRecord: [Int] = []

    init(_ records: RecordSelection) {
        var last = 0
        var position = 0
        records.forEach { record in
            defer { position += 1 }
            if !resources.isEmpty && record.resource === resources[last] {
                if !groupOfRecord.isEmpty { groupOfRecord.append(last) }
                return
            }
            if let index = resources.firstIndex(where: { $0 == record.resource }) {
                last = index
            } else {
                resources.append(record.resource)
                last = resources.count - 1
                if resources.count == 2 { groupOfRecord = Array(repeating: 0, count: position) }
            }
            if !groupOfRecord.isEmpty || last != 0 { groupOfRecord.append(last) }
        }
        if resources.isEmpty { resources = [nil] } // a request without spans still names its resource
    }

    var indices: Range<Int> { resources.indices }

    /// The attributes of group `group`'s resource: `base` with the records' resource merged in.
    func attributes(_ group: Int, base: [(key: String, value: AttributeValue)]) -> [(key: String, value: AttributeValue)] {
        guard let own = resources[group]?.attributes, !own.isEmpty else { return base }
        return base.filter { own[$0.key] == nil } + own.entries
    }

    /// Hands the records of group `group` to `body`, borrowed, in order.
    func forEach(in group: Int, _ records: RecordSelection, _ body: (Record) -> Void) {
        guard !groupOfRecord.isEmpty else { return records.forEach(body) }
        var position = 0
        records.forEach { record in
            if groupOfRecord[position] == group { body(record) }
            position += 1
        }
    }
}
