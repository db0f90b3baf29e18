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
func protobufSpanIDs(_ body: [UInt8]) throws -> [UInt64] {
    var ids: [UInt64] = []
    try ProtobufReader(body).forEach(1) {
        try $0.forEach(2) {
            try $0.forEach(2) {
                try $0.forEach(2) { id in
                    if id.contents.count == 8 { ids.append(id.contents.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }) }
                }
            }
        }
    }
    return ids
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
        guard let spanIDs = try? protobufSpanIDs(body) else { return Response(status: .badRequest) }
        ids = spanIDs
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
