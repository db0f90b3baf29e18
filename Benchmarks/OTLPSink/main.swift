import Hummingbird
import Synchronization
import TraceTailCore

/// A counting trace sink for benchmarks: accepts `POST /v1/traces` (OTLP protobuf or JSON, gzip or not) and
/// `POST /api/collector` (LangWatch's collector API), counts requests, spans and distinct span ids, and reports them
/// at `GET /stats` (`POST /reset` starts over). It reads only the span ids, walking the protobuf wire format or
/// scanning the JSON, so that it is not the bottleneck.
/// Usage: OTLPSink [port] [file to save the first request body to, for measuring the sink itself]
struct Counts {
    var requests = 0
    var spans = 0
    var bytes = 0
    var ids = Set<UInt64>()
}

let counts = Mutex(Counts())
let port = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 4318
let saveTo = CommandLine.arguments.dropFirst(2).first
let saved = Atomic(false)

/// Span ids of an `ExportTraceServiceRequest`: resource_spans(1) → scope_spans(2) → spans(2) → span_id(2).
func protobufSpanIDs(_ bytes: UnsafeRawBufferPointer, depth: Int = 0, into ids: inout [UInt64]) -> Bool {
    var index = 0
    func varint() -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.count, shift < 64 {
            let byte = bytes[index]
            index += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        return nil
    }
    while index < bytes.count {
        guard let key = varint() else { return false }
        let field = key >> 3
        switch key & 7 {
        case 0: guard varint() != nil else { return false }
        case 1: index += 8
        case 5: index += 4
        case 2:
            guard let length = varint(), Int(length) <= bytes.count - index else { return false }
            let inner = UnsafeRawBufferPointer(rebasing: bytes[index..<index + Int(length)])
            index += Int(length)
            let wanted: UInt64 = depth == 0 ? 1 : 2
            if depth < 3 && field == wanted {
                guard protobufSpanIDs(inner, depth: depth + 1, into: &ids) else { return false }
            } else if depth == 3 && field == 2 && inner.count == 8 {
                ids.append(inner.loadUnaligned(as: UInt64.self))
            }
        default: return false
        }
        guard index <= bytes.count else { return false }
    }
    return true
}

/// Span ids in JSON: every `<key>:"<16 hex>"` (`"spanId"` in OTLP/JSON, `"span_id"` for the collector).
func jsonSpanIDs(_ bytes: [UInt8], key: String = #""spanId""#) -> [UInt64] {
    let marker = Array((key + #":""#).utf8)
    var ids: [UInt64] = []
    var index = 0
    while index + marker.count + 16 <= bytes.count {
        if bytes[index] == marker[0] && bytes[index..<index + marker.count].elementsEqual(marker) {
            let start = index + marker.count
            ids.append(UInt64(String(decoding: bytes[start..<start + 16], as: UTF8.self), radix: 16) ?? 0)
            index = start + 16
        } else {
            index += 1
        }
    }
    return ids
}

func count(_ ids: [UInt64], wire: Int) {
    counts.withLock { counts in
        counts.requests += 1
        counts.spans += ids.count
        counts.bytes += wire
        counts.ids.formUnion(ids)
    }
}

let router = Router()
router.post("/v1/traces") { request, _ -> Response in
    var request = request
    var body = Array(buffer: try await request.collectBody(upTo: 64 << 20))
    let wire = body.count
    if let saveTo, !saved.exchange(true, ordering: .relaxed) {
        try? FileSystem.append(body, to: saveTo)
    }
    if request.headers[.contentEncoding] == "gzip" { body = try Gzip.decompress(body, limit: 64 << 20) }
    var ids: [UInt64] = []
    if request.headers[.contentType] == "application/json" {
        ids = jsonSpanIDs(body)
    } else {
        guard body.withUnsafeBytes({ protobufSpanIDs($0, into: &ids) }) else { return Response(status: .badRequest) }
    }
    count(ids, wire: wire)
    return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "{}")))
}
router.post("/api/collector") { request, _ -> Response in
    var request = request
    let body = Array(buffer: try await request.collectBody(upTo: 64 << 20))
    count(jsonSpanIDs(body, key: #""span_id""#), wire: body.count)
    return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: #"{"message":"Trace received successfully."}"#)))
}
router.get("/stats") { _, _ -> String in
    let snapshot = counts.withLock { ($0.requests, $0.spans, $0.ids.count, $0.bytes) }
    return #"{"requests":\#(snapshot.0),"spans":\#(snapshot.1),"distinct_spans":\#(snapshot.2),"bytes":\#(snapshot.3)}"#
}
router.post("/reset") { _, _ -> String in
    counts.withLock { $0 = Counts() }
    return "{}"
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
