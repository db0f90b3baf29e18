import Foundation
import Testing
import TestSupport
import TraceTailCore

/// The binary reading container logs as the kubelet lays them out: CRI and Docker framing with long lines cut into
/// pieces, pod metadata from the path, one OTLP resource per pod.
@Suite(.serialized) struct ContainerLogsTests {
    /// One span as the server received it, with the attributes of the resource it came under.
    struct Delivered {
        var attributes: [String: String]
        var resource: [String: String]
        var line: String { attributes["line"] ?? "?" }
    }

    /// An app's JSON log line carrying `blob` bytes of prompt.
    func appLine(_ line: String, blob: Int = 0) -> String {
        #"{"msg":"call","line":"\#(line)","blob":"\#(String(repeating: "b", count: blob))"}"#
    }

    func delivered(_ server: FakeLangWatch) throws -> [Delivered] {
        try server.requests.filter { $0.path == "/api/otel/v1/traces" && $0.status == 200 }.flatMap { request in
            try OTLPExportRequest(serializedBytes: request.body).resourceSpans.flatMap { group in
                let resource = Dictionary(group.resource.attributes.map { ($0.key, FakeLangWatch.text($0.value)) }, uniquingKeysWith: { $1 })
                return group.scopeSpans.flatMap(\.spans).map { span in
                    Delivered(attributes: Dictionary(span.attributes.map { ($0.key, FakeLangWatch.text($0.value)) }, uniquingKeysWith: { $1 }),
                              resource: resource)
                }
            }
        }
    }

    func config(_ root: String, include: [String], server: FakeLangWatch) throws -> String {
        let path = root + "/config.yaml"
        try """
            service: { data_dir: \(root)/data, grace_period: 5s }
            pipelines:
              pods:
                input: { type: file, include: [\(include.map { "\"\(root)/\($0)\"" }.joined(separator: ", "))], format: auto, poll_interval: 50ms }
                parsers: [ { type: json, on_error: keep } ]
                outputs:
                  - { type: otlp, endpoint: "\(server.url)/api/otel/v1/traces", headers: { X-Auth-Token: "\(FakeLangWatch.apiKey)" }, batch_wait: 50ms, resource: { deployment.environment: test } }
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The framed lines of app lines `names` (40 KB and 200 KB ones among them) on stdout, with a stderr line after
    /// every second piece of a long one.
    func framed(_ runtime: ContainerRuntime, pod: String) -> (text: String, lines: [String: Int]) {
        var text = ""
        var lines: [String: Int] = [:]
        var warnings = 0
        for (name, blob) in [("small", 10), ("40k", 40_000), ("200k", 200_000), ("last", 10)] {
            let line = "\(pod)-\(name)"
            lines[line] = blob
            for (index, piece) in runtime.frame(appLine(line, blob: blob)).enumerated() {
                text += piece
                if index.isMultiple(of: 2) && blob > 10_000 {
                    let warning = "\(pod)-warning-\(warnings)"
                    warnings += 1
                    lines[warning] = -1
                    text += runtime.frame(appLine(warning), stream: "stderr")[0]
                }
            }
        }
        return (text, lines)
    }

    @Test func everyFramingIsTakenOffAndEachPodIsOneResource() async throws {
        let server = FakeLangWatch()
        try await server.start()
        defer { server.stop() }
        let root = temporaryDirectory()
        let id = String(repeating: "ab12", count: 16)
        let pods: [(directory: String, file: String, runtime: ContainerRuntime)] = [
            ("llm_chat-a_uid-a/app", "0.log", .containerd), ("llm_chat-b_uid-b/app", "2.log", .crio),
            ("web_api-c_uid-c/server", "0.log", .docker),
        ]
        var expected: [String: Int] = [:]
        for pod in pods {
            let writer = LogWriter(directory: root + "/pods/" + pod.directory)
            let pieces = framed(pod.runtime, pod: String(pod.directory.split(separator: "_")[1]))
            writer.append(pieces.text, to: pod.file)
            expected.merge(pieces.lines) { $1 }
        }
        // chat-a is found through its /var/log/containers link: both layouts name it.
        let links = LogWriter(directory: root + "/containers")
        try FileManager.default.createSymbolicLink(atPath: links.path("chat-a_llm_app-\(id).log"),
                                                   withDestinationPath: root + "/pods/llm_chat-a_uid-a/app/0.log")
        let config = try config(root, include: ["containers/*.log", "pods/*/*/*.log"], server: server)
        let result = try await runTracetail(["run", "--once", "-c", config])
        #expect(result.status == 0, "\(result.stderr)")

        let spans = try delivered(server)
        #expect(spans.count == expected.count)
        #expect(Set(spans.map(\.line)) == Set(expected.keys))
        for span in spans {
            let blob = try #require(expected[span.line])
            #expect((span.attributes["blob"] ?? "").utf8.count == max(blob, 0), "\(span.line)")
            #expect(span.attributes["log.iostream"] == (blob < 0 ? "stderr" : "stdout"), "\(span.line)")
            #expect(span.attributes["error.message"] == nil, "\(span.line): \(span.attributes["error.message"] ?? "")")
            #expect(span.line.hasPrefix(span.resource["k8s.pod.name"] ?? "?"), "\(span.line) under \(span.resource)")
            #expect(span.resource["deployment.environment"] == "test" && span.resource["service.name"] == "tracetail")
        }
        let resources = Dictionary(spans.map { ($0.resource["k8s.pod.name"] ?? "?", $0.resource) }, uniquingKeysWith: { first, _ in first })
        #expect(resources["chat-a"]?["container.id"] == id)
        #expect(resources["chat-a"]?["k8s.pod.uid"] == "uid-a")
        #expect(resources["chat-b"]?["k8s.namespace.name"] == "llm")
        #expect(resources["chat-b"]?["k8s.container.restart_count"] == #"{"intValue":"2"}"#)
        #expect(resources["api-c"]?["k8s.container.name"] == "server" && resources["api-c"]?["container.id"] == nil)
        // One ResourceSpans per pod in each request.
        for request in server.requests where request.path == "/api/otel/v1/traces" && request.status == 200 {
            let names = try OTLPExportRequest(serializedBytes: request.body).resourceSpans.map {
                $0.resource.attributes.first { $0.key == "k8s.pod.name" }?.value.stringValue ?? ""
            }
            #expect(names.count == Set(names).count, "\(names)")
        }
    }

    @Test func aSigkillBetweenThePiecesOfARecordDeliversItOnceAndWhole() async throws {
        let server = FakeLangWatch()
        try await server.start()
        defer { server.stop() }
        let root = temporaryDirectory()
        let logs = LogWriter(directory: root + "/pods/llm_chat-a_uid-a/app")
        let config = try config(root, include: ["pods/*/*/*.log"], server: server)
        let pieces = ContainerRuntime.containerd.frame(appLine("big", blob: 200_000))
        logs.append(ContainerRuntime.containerd.frame(appLine("before"))[0] + pieces[..<3].joined(), to: "0.log")

        let first = try RunningProcess(["run", "-c", config])
        try await first.waitFor { _ in ((try? delivered(server)) ?? []).contains { $0.line == "before" } }
        try await Task.sleep(for: .milliseconds(500)) // its acknowledgement reaches the journal
        first.signal(SIGKILL)
        _ = try await first.wait()

        logs.append(pieces[3...].joined() + ContainerRuntime.containerd.frame(appLine("after"))[0], to: "0.log")
        let second = try RunningProcess(["run", "-c", config])
        try await second.waitFor(timeout: .seconds(30)) { _ in ((try? delivered(server)) ?? []).contains { $0.line == "after" } }
        second.signal(SIGTERM)
        let stopped = try await second.wait()
        #expect(stopped.status == 0, "\(stopped.stderr)")

        let lines = try delivered(server).map(\.line)
        #expect(lines.sorted() == ["after", "before", "big"], "each once")
        #expect(try delivered(server).first { $0.line == "big" }?.attributes["blob"]?.utf8.count == 200_000)
    }
}
