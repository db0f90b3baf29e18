import Hummingbird
import Synchronization
import TraceTailCore

/// A counting OTLP/HTTP sink for benchmarks: accepts `POST /v1/traces` (protobuf or JSON, gzip or not), counts
/// requests, spans and distinct span ids, and reports them at `GET /stats`.
/// Usage: OTLPSink [port]
struct Counts {
    var requests = 0
    var spans = 0
    var bytes = 0
    var ids = Set<String>()
}

let counts = Mutex(Counts())
let port = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 4318
let router = Router()
router.post("/v1/traces") { request, _ -> Response in
    var request = request
    var body = Array(buffer: try await request.collectBody(upTo: 64 << 20))
    let wire = body.count
    if request.headers[.contentEncoding] == "gzip" { body = try Gzip.decompress(body, limit: 64 << 20) }
    var ids: [String] = []
    if request.headers[.contentType] == "application/json" {
        guard case .array(let resources)? = try JSONReader.parse(body)["resourceSpans"] else { return Response(status: .badRequest) }
        for resource in resources {
            guard case .array(let scopes)? = resource["scopeSpans"] else { continue }
            for scope in scopes {
                guard case .array(let spans)? = scope["spans"] else { continue }
                for span in spans { if case .string(let id)? = span["spanId"] { ids.append(id) } }
            }
        }
    } else {
        let message = try OTLPExportRequest(serializedBytes: body)
        for resource in message.resourceSpans {
            for scope in resource.scopeSpans {
                for span in scope.spans { ids.append(span.spanID.map { String($0, radix: 16) }.joined()) }
            }
        }
    }
    counts.withLock { counts in
        counts.requests += 1
        counts.spans += ids.count
        counts.bytes += wire
        counts.ids.formUnion(ids)
    }
    return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "{}")))
}
router.get("/stats") { _, _ -> String in
    let snapshot = counts.withLock { $0 }
    return #"{"requests":\#(snapshot.requests),"spans":\#(snapshot.spans),"distinct_spans":\#(snapshot.ids.count),"bytes":\#(snapshot.bytes)}"#
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
