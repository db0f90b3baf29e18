import Testing
import TestSupport
import TraceTailCore
@testable import FileInput

/// The framer fed line by line, as the file input feeds it.
struct FramerRun {
    var framer: ContainerFramer
    var offset: UInt64 = 0
    var records: [(text: String, offsets: Range<UInt64>, truncated: Bool, time: UInt64?, stream: ContainerFramer.Stream?)] = []

    init(_ format: ContainerFormat, maxBytes: Int = 1 << 20) {
        framer = ContainerFramer(format: format, maxBytes: maxBytes)!
    }

    /// Adds framed lines (each ending in a newline).
    mutating func add(_ lines: [String]) {
        for line in lines {
            let bytes = Array(line.utf8.dropLast())
            let offsets = offset..<offset + UInt64(bytes.count + 1)
            offset = offsets.upperBound
            bytes.withUnsafeBytes { line in
                framer.add(line, offsets, false) { record in
                    records.append((String(decoding: record.text, as: UTF8.self), record.offsets, record.truncated, record.time, record.stream))
                }
            }
        }
    }
}

@Suite struct ContainerFramingTests {
    let json = #"{"model":"gpt-4o","prompt":""# + String(repeating: "p", count: 40_000) + #""}"#

    @Test(arguments: [ContainerRuntime.containerd, .crio, .docker])
    func piecesAreJoinedPerStreamWithTheOtherStreamInterleaved(_ runtime: ContainerRuntime) {
        var run = FramerRun(runtime == .docker ? .docker : .cri)
        let pieces = runtime.frame(json)
        #expect(pieces.count == (json.utf8.count + runtime.pieceBytes - 1) / runtime.pieceBytes)
        run.add([pieces[0]])
        #expect(run.framer.pendingStart == 0)
        run.add(runtime.frame("oops on stderr", stream: "stderr")) // between the pieces
        #expect(run.records.map(\.text) == ["oops on stderr"])
        #expect(run.framer.pendingStart == 0, "the stdout pieces still hold the acknowledgement back")
        run.add(runtime.frame("a partial on stderr", stream: "stderr").map { runtime == .docker ? $0.replacingOccurrences(of: #"\n""#, with: #"""#) : $0.replacingOccurrences(of: " F ", with: " P ") })
        run.add(Array(pieces.dropFirst()))
        #expect(run.records.count == 2)
        #expect(run.records[1].text == json)
        #expect(run.records[1].stream == .stdout)
        #expect(run.records[1].time == 1_767_323_045_123_456_789)
        #expect(run.records[1].offsets.lowerBound == 0 && run.records[1].offsets.upperBound == run.offset)
        let stderrStart = UInt64(pieces[0].utf8.count + runtime.frame("oops on stderr", stream: "stderr")[0].utf8.count)
        #expect(run.framer.pendingStart == stderrStart, "the stderr partial holds the acknowledgement back now")
        var flushed: [String] = []
        run.framer.flush { flushed.append(String(decoding: $0.text, as: UTF8.self)) }
        #expect(flushed == ["a partial on stderr"])
        #expect(run.framer.pendingStart == nil)
    }

    @Test func joinedRecordsAreCutAtTheLimitAndMalformedLinesPassRaw() {
        var run = FramerRun(.cri, maxBytes: 20_000)
        run.add(ContainerRuntime.containerd.frame(json))
        run.add(["not a CRI line\n", "2026-01-02T03:04:05Z stdout X tag\n", "2026-01-02T03:04:05Z stdout F short\n"])
        #expect(run.records.map(\.text.utf8.count) == [20_000, 14, 33, 5])
        #expect(run.records.map(\.truncated) == [true, false, false, false])
        #expect(run.records.map(\.stream) == [.stdout, nil, nil, .stdout])
        #expect(run.framer.malformedLines == 2 && run.framer.truncatedRecords == 1)
    }

    @Test func autoDecidesFromTheFirstLine() {
        func decide(_ line: String) -> ContainerFramer.Framing {
            Array(line.utf8.filter { $0 != 0x0A }).withUnsafeBytes { ContainerFramer.decide($0) }
        }
        #expect(decide(ContainerRuntime.docker.frame("x")[0]) == .docker)
        #expect(decide(ContainerRuntime.crio.frame("x")[0]) == .cri)
        #expect(decide(#"{"msg":"an app's own JSON"}"#) == .plain)
        #expect(decide("plain text") == .plain)
        var run = FramerRun(.auto)
        let framed = ContainerRuntime.containerd.frame("framed")[0]
        run.add([#"{"msg":"plain"}"# + "\n", framed])
        #expect(run.records.map(\.text) == [#"{"msg":"plain"}"#, String(framed.dropLast())])
        #expect(run.framer.malformedLines == 0)
    }

    @Test func podMetadataFromBothKubeletLayouts() {
        let uid = "9f1c3c1e-5b7a-4d2e-8f00-123456789abc"
        let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
        let pods = PodMetadata.resource(path: "/host/var/log/pods/llm_chat-7d9f_\(uid)/app/3.log", realPath: "/host/var/log/pods/llm_chat-7d9f_\(uid)/app/3.log")
        #expect(pods?.attributes == Attributes([
            ("k8s.namespace.name", .string("llm")), ("k8s.pod.name", .string("chat-7d9f")), ("k8s.pod.uid", .string(uid)),
            ("k8s.container.name", .string("app")), ("k8s.container.restart_count", .int(3)),
        ]))
        let link = PodMetadata.resource(path: "/var/log/containers/chat-7d9f_llm_app-\(id).log",
                                        realPath: "/var/log/pods/llm_chat-7d9f_\(uid)/app/0.log.20260102-030405")
        #expect(link?.attributes["container.id"] == .string(id))
        #expect(link?.attributes["k8s.pod.uid"] == .string(uid))
        #expect(link?.attributes["k8s.container.restart_count"] == .int(0))
        #expect(PodMetadata.resource(path: "/var/log/app.log", realPath: "/var/log/app.log") == nil)
    }
}
