/// One metric of a running binary, from its service server's `/metrics`: the sum of the samples named `name`
/// (over their labels); nil when the server does not answer, 0 when the metric has no sample yet.
public func serviceMetric(_ name: String, port: Int) async -> Double? {
    guard let body = try? await httpGet("http://127.0.0.1:\(port)/metrics").body else { return nil }
    var total = 0.0
    for line in body.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
        if let value = line.split(separator: " ").last.flatMap({ Double($0) }) { total += value }
    }
    return total
}
