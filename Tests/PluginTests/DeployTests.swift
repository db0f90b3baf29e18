import BuiltinPlugins
import Foundation
import Testing
import TestSupport
import TraceTailCore

/// The container image and the Kubernetes manifests, checked by reading them (no container engine here): what
/// they promise must match what the binary and its configuration do.
@Suite struct DeployTests {
    let root = repositoryRoot()

    func documents(_ path: String) throws -> [YAMLNode] {
        let text = try String(contentsOfFile: root + "/" + path, encoding: .utf8)
        return try text.components(separatedBy: "\n---\n").map { document in
            var diagnostics: [ConfigDiagnostic] = []
            let node = try YAMLParser.parse(document, file: path, diagnostics: &diagnostics)
            #expect(diagnostics.isEmpty, "\(diagnostics)")
            return node
        }
    }

    func items(_ node: YAMLNode?) -> [YAMLNode] {
        if case .sequence(let items)? = node?.content { return items }
        return []
    }

    /// The ConfigMap's TraceTail configuration, validated against the real registry (secret files stand in).
    func configuration(_ configMap: YAMLNode) throws -> TraceTailConfig {
        var text = try #require(configMap["data"]?["config.yaml"]?.scalar)
        let secret = temporaryDirectory() + "/secret"
        #expect(FileManager.default.createFile(atPath: secret, contents: Data("lw_is_test".utf8)))
        text = text.replacingOccurrences(of: "/etc/tracetail/secrets/secret", with: secret)
        return try ConfigLoader.load(text: text, file: "config.yaml", registry: BuiltinPlugins.registry(),
                                     environment: ["LANGWATCH_SOURCE_ID": "src-1"])
    }

    func checkWorkload(_ workload: YAMLNode, _ config: TraceTailConfig) throws {
        let pod = try #require(workload["spec"]?["template"]?["spec"])
        let container = try #require(items(pod["containers"]).first { $0["name"]?.scalar == "tracetail" })
        // Probes hit the service server where the configuration puts it, reachable from the kubelet.
        let port = try #require(items(container["ports"]).first { $0["name"]?.scalar == "service" })
        #expect(port["containerPort"]?.scalar == String(config.service.http.listen.port))
        #expect(config.service.http.listen.host == "0.0.0.0" && config.service.http.enabled)
        #expect(container["livenessProbe"]?["httpGet"]?["path"]?.scalar == "/healthz")
        #expect(container["readinessProbe"]?["httpGet"]?["path"]?.scalar == "/readyz")
        #expect(container["livenessProbe"]?["httpGet"]?["port"]?.scalar == "service")
        // The kubelet waits longer than a drain may take (grace period + the 5 s allowed a stuck drain).
        let grace = try #require(pod["terminationGracePeriodSeconds"]?.scalar.flatMap(Int.init))
        #expect(Duration.seconds(grace) > config.service.gracePeriod.duration + .seconds(5))
        // A read-only root filesystem: everything TraceTail writes is under a mounted data directory.
        #expect(container["securityContext"]?["readOnlyRootFilesystem"]?.scalar == "true")
        #expect(items(container["volumeMounts"]).contains { $0["mountPath"]?.scalar == config.service.dataDirectory })
        #expect(items(container["args"]).map { $0.scalar ?? "" }.starts(with: ["run", "--config", "/etc/tracetail/config.yaml"]))
        #expect(items(container["volumeMounts"]).contains { $0["mountPath"]?.scalar == "/etc/tracetail/config.yaml" })
    }

    @Test func theSidecarManifestMatchesItsConfiguration() throws {
        let manifests = try documents("deploy/kubernetes/sidecar.yaml")
        let configMap = try #require(manifests.first { $0["kind"]?.scalar == "ConfigMap" })
        let deployment = try #require(manifests.first { $0["kind"]?.scalar == "Deployment" })
        let config = try configuration(configMap)
        try checkWorkload(deployment, config)
        let pod = try #require(deployment["spec"]?["template"]?["spec"])
        #expect(pod["securityContext"]?["runAsNonRoot"]?.scalar == "true")
        // The app and TraceTail share the log volume; the file input reads where the app writes.
        let containers = items(pod["containers"])
        let shared = containers.map { container in Set(items(container["volumeMounts"]).compactMap { $0["name"]?.scalar }) }
        #expect(shared.count == 2 && shared[0].contains("app-logs") && shared[1].contains("app-logs"))
        let logMount = try #require(items(containers[1]["volumeMounts"]).first { $0["name"]?.scalar == "app-logs" })
        #expect(config.pipelines[0].input.kind == "file")
        #expect(try String(contentsOfFile: root + "/deploy/kubernetes/sidecar.yaml", encoding: .utf8)
            .contains("\(logMount["mountPath"]?.scalar ?? "?")/*.log"))
        // The secret arrives as a file from a Secret, not in the ConfigMap.
        let configText = try #require(configMap["data"]?["config.yaml"]?.scalar)
        #expect(configText.contains("bearer_secret_file: /etc/tracetail/secrets/") && !configText.contains("lw_is_"))
        #expect(items(pod["volumes"]).contains { $0["secret"]?["secretName"]?.scalar == "langwatch-ingest" })
        #expect(config.pipelines[0].outputs[0].buffer != nil, "the outage buffer is on disk")
    }

    @Test func theDaemonSetManifestMatchesItsConfiguration() throws {
        let manifests = try documents("deploy/kubernetes/daemonset.yaml")
        let configMap = try #require(manifests.first { $0["kind"]?.scalar == "ConfigMap" })
        let daemonSet = try #require(manifests.first { $0["kind"]?.scalar == "DaemonSet" })
        let config = try configuration(configMap)
        try checkWorkload(daemonSet, config)
        let volumes = items(daemonSet["spec"]?["template"]?["spec"]?["volumes"])
        #expect(volumes.contains { $0["hostPath"]?["path"]?.scalar == "/var/log/pods" })
        #expect(volumes.contains { $0["hostPath"]?["path"]?.scalar == config.service.dataDirectory })
        // The runtime's framing is the file input's business: no regex for it, the JSON parser reads the app's line.
        #expect(config.pipelines[0].parsers.map(\.kind) == ["json"])
        let text = try #require(configMap["data"]?["config.yaml"]?.scalar)
        #expect(text.contains(#"include: ["/var/log/pods/*/*/*.log"], format: auto"#))
    }

    @Test func theDockerfileBuildsStaticallyAndRunsUnprivileged() throws {
        let lines = try String(contentsOfFile: root + "/deploy/Dockerfile", encoding: .utf8)
            .replacingOccurrences(of: "\\\n", with: " ")
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.hasPrefix("#") && !$0.isEmpty }
        let stages = lines.filter { $0.hasPrefix("FROM ") }
        #expect(stages.count == 2 && stages[0].hasPrefix("FROM swift:") && stages[0].hasSuffix(" AS build"))
        // The image ships the production build, and copies in what it needs: its script, layout files, and the
        // configurations and logs the layout is traced with.
        #expect(lines.contains { $0.hasPrefix("RUN ") && $0.contains("bash deploy/build-release.sh") })
        let script = try String(contentsOfFile: root + "/deploy/build-release.sh", encoding: .utf8).replacingOccurrences(of: "\\\n", with: " ")
        let build = try #require(script.split(separator: "\n").first { $0.contains("swift build") && !$0.hasPrefix("#") })
        #expect(build.contains("-c release") && build.contains("--static-swift-stdlib") && build.contains("--product tracetail"))
        #expect(script.contains("deploy/release/text-layout.ld") && script.contains("bash deploy/release/trace.sh"))
        let trace = try String(contentsOfFile: root + "/deploy/release/trace.sh", encoding: .utf8)
        for copied in ["deploy/build-release.sh deploy/", "deploy/release deploy/release", "config.example.yaml ./", "examples examples"] {
            #expect(lines.contains("COPY " + copied), "COPY \(copied)")
        }
        #expect(trace.contains("config.example.yaml") && trace.contains("examples/webhook.yaml") && trace.contains("deploy/release/functrace.c"))
        // The build installs exactly what CI installs.
        let setup = try String(contentsOfFile: root + "/.ci/setup", encoding: .utf8)
        let ciPackages = try #require(setup.split(separator: "\n").first { $0.hasPrefix("packages=(") })
            .dropFirst("packages=(".count).dropLast().split(separator: " ").map(String.init)
        let firstInstall = try #require(lines.first { $0.contains("apt-get install") })
        for package in ciPackages { #expect(firstInstall.contains(package), "\(package)") }
        // Not root; data in a volume named by the same path the binary is told.
        let user = try #require(lines.last { $0.hasPrefix("USER ") })
        #expect(!user.contains("root") && user.dropFirst(5).split(separator: ":").allSatisfy { Int($0) ?? 0 > 0 })
        #expect(lines.contains("ENV TRACETAIL_DATA_DIR=/var/lib/tracetail"))
        #expect(lines.contains { $0.hasPrefix("VOLUME") && $0.contains("/var/lib/tracetail") })
        #expect(lines.contains("EXPOSE \(ServiceHTTPSettings().listen.port)"))
        #expect(lines.contains(#"ENTRYPOINT ["/usr/local/bin/tracetail"]"#))
        // The example config reads its data directory from that variable.
        let example = try String(contentsOfFile: root + "/config.example.yaml", encoding: .utf8)
        #expect(example.contains("${TRACETAIL_DATA_DIR"))
    }
}
