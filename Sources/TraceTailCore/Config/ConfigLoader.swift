/// Settings of the whole process (`service:`).
public struct ServiceSettings: Sendable, Decodable {
    /// Checkpoints, dead letters and disk queues live here, one folder per pipeline.
    public var dataDirectory = ".tracetail"
    /// How long a shutdown may drain queues and flush outputs before it cancels what is left.
    public var gracePeriod = ConfigDuration.seconds(10)
    /// The service HTTP server: `/metrics`, `/healthz`, `/readyz`.
    public var http = ServiceHTTPSettings()

    public init() {}

    enum CodingKeys: String, CodingKey {
        case dataDirectory = "data_dir"
        case gracePeriod = "grace_period"
        case http
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try container.decode(.dataDirectory, into: &dataDirectory)
        try container.decode(.gracePeriod, into: &gracePeriod)
        try container.decode(.http, into: &http)
    }
}

/// `service.http`: where the service server listens, and when `/readyz` calls a failing output a problem.
public struct ServiceHTTPSettings: Sendable, Decodable {
    public var enabled = true
    public var listen = ListenAddress(host: "127.0.0.1", port: 8686)
    /// An output failing (retrying or dead-lettering) for longer than this makes the process not ready.
    public var readyFailureThreshold = ConfigDuration.seconds(60)

    enum CodingKeys: String, CodingKey {
        case enabled, listen
        case readyFailureThreshold = "ready_failure_threshold"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try container.decode(.enabled, into: &enabled)
        try container.decode(.listen, into: &listen)
        try container.decode(.readyFailureThreshold, into: &readyFailureThreshold)
    }
}

/// Bounds of the queues between a pipeline's stages (`queue:`).
public struct QueueSettings: Sendable, Decodable {
    public var maxBatches = 8
    public var maxBytes = ByteSize.mebibytes(8)

    public init() {}

    enum CodingKeys: String, CodingKey {
        case maxBatches = "max_batches"
        case maxBytes = "max_bytes"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try container.decode(.maxBatches, into: &maxBatches)
        try container.decode(.maxBytes, into: &maxBytes)
        guard maxBatches > 0, maxBytes.bytes > 0 else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath, debugDescription: "queue bounds must be greater than zero"))
        }
    }
}

/// A plugin whose configuration decoded cleanly, ready to be instantiated by the runtime.
public struct ConfiguredPlugin<Instance>: Sendable {
    public var kind: String
    /// Its place in the pipeline, e.g. `outputs[1]`.
    public var stageName: String
    public var location: SourceLocation
    /// An output's disk buffer (`buffer: disk`), or nil to hold batches in memory.
    public var buffer: DiskQueueConfiguration?
    let make: @Sendable (PluginContext) throws -> Instance

    public init(
        kind: String, stageName: String, location: SourceLocation, buffer: DiskQueueConfiguration? = nil,
        make: @escaping @Sendable (PluginContext) throws -> Instance
    ) {
        self.kind = kind
        self.stageName = stageName
        self.location = location
        self.buffer = buffer
        self.make = make
    }

    /// Creates the plugin instance.
    public func instantiate(_ context: PluginContext) throws -> Instance { try make(context) }
}

/// One pipeline as the configuration declares it.
public struct PipelineSpec: Sendable {
    public var name: String
    public var location: SourceLocation
    public var input: ConfiguredPlugin<any Input>
    public var parsers: [ConfiguredPlugin<any Parser>]
    public var outputs: [ConfiguredPlugin<any Output>]
    public var queue: QueueSettings
    /// Trace assembly between the parsers and the outputs (`assembly:`).
    public var assembly: AssemblySettings
    /// The pipeline's configuration as canonical text: a reload restarts a pipeline only when this changed.
    public var fingerprint: String

    public init(
        name: String, location: SourceLocation, input: ConfiguredPlugin<any Input>,
        parsers: [ConfiguredPlugin<any Parser>], outputs: [ConfiguredPlugin<any Output>], queue: QueueSettings,
        assembly: AssemblySettings = AssemblySettings(), fingerprint: String = ""
    ) {
        self.assembly = assembly
        self.fingerprint = fingerprint
        self.name = name
        self.location = location
        self.input = input
        self.parsers = parsers
        self.outputs = outputs
        self.queue = queue
    }

    /// `stdin → json → console, otlp`
    public var summary: String {
        ([input.kind] + parsers.map(\.kind) + [outputs.map(\.kind).joined(separator: ", ")])
            .joined(separator: " → ")
    }
}

/// A whole configuration file, validated.
public struct TraceTailConfig: Sendable {
    public var file: String
    public var service: ServiceSettings
    public var pipelines: [PipelineSpec]

    public init(file: String, service: ServiceSettings, pipelines: [PipelineSpec]) {
        self.file = file
        self.service = service
        self.pipelines = pipelines
    }
}

/// Loads and validates configuration files against a plugin registry.
public enum ConfigLoader {
    /// Reads, interpolates and validates a file. Throws every mistake found, each with `file:line:column`.
    public static func load(
        file: String, registry: PluginRegistry, environment: [String: String]
    ) throws(ConfigErrors) -> TraceTailConfig {
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.read(file)
        } catch {
            throw ConfigErrors([ConfigDiagnostic(file: file, message: "\(error)")])
        }
        return try load(text: String(decoding: bytes, as: UTF8.self), file: file, registry: registry,
                        environment: environment)
    }

    /// Validates configuration text; `file` names it in messages.
    public static func load(
        text: String, file: String, registry: PluginRegistry, environment: [String: String]
    ) throws(ConfigErrors) -> TraceTailConfig {
        var diagnostics: [ConfigDiagnostic] = []
        let parsed = try YAMLParser.parse(text, file: file, diagnostics: &diagnostics)
        let root = Interpolator(environment: environment).expand(parsed, diagnostics: &diagnostics)

        guard let entries = root.mapping else {
            throw ConfigErrors(diagnostics + [ConfigDiagnostic(
                location: root.location, message: "expected a mapping with 'service' and 'pipelines', found \(root.kindName)")])
        }
        for (key, _) in entries where !["service", "pipelines"].contains(key.scalar) {
            diagnostics.append(ConfigDiagnostic(location: key.location, path: key.scalar ?? "",
                                                message: "unknown key '\(key.scalar ?? "")' (expected 'service' or 'pipelines')"))
        }
        var service = ServiceSettings()
        if let node = root["service"], !node.isNull {
            service = ConfigDecoder.decode(ServiceSettings.self, from: node, path: [AnyCodingKey(stringValue: "service")],
                                           knownKeys: ["data_dir", "grace_period", "http"], diagnostics: &diagnostics) ?? service
        }
        var pipelines: [PipelineSpec] = []
        let pipelinesKey = AnyCodingKey(stringValue: "pipelines")
        switch root["pipelines"]?.content {
        case .mapping(let declared)? where !declared.isEmpty:
            for (key, value) in declared {
                let name = key.scalar ?? ""
                if !isValidPipelineName(name) {
                    diagnostics.append(ConfigDiagnostic(
                        location: key.location, path: "pipelines",
                        message: "pipeline name '\(name)' may use only letters, digits, '-', '_' and '.'"))
                }
                let path: [any CodingKey] = [pipelinesKey, AnyCodingKey(stringValue: name)]
                if let pipeline = buildPipeline(name, declaredAt: key.location, value, path, registry, &diagnostics) {
                    pipelines.append(pipeline)
                }
            }
        default:
            diagnostics.append(ConfigDiagnostic(location: root["pipelines"]?.location ?? root.location, path: "pipelines",
                                                message: "expected a mapping of pipeline names to pipelines"))
        }
        guard diagnostics.isEmpty else { throw ConfigErrors(diagnostics) }
        return TraceTailConfig(file: file, service: service, pipelines: pipelines)
    }

    static func isValidPipelineName(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy {
            ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || "-_.".unicodeScalars.contains($0)
        } && name != "." && name != ".."
    }

    private static func buildPipeline(
        _ name: String, declaredAt location: SourceLocation, _ node: YAMLNode, _ path: [any CodingKey],
        _ registry: PluginRegistry,
        _ diagnostics: inout [ConfigDiagnostic]
    ) -> PipelineSpec? {
        guard let shape = ConfigDecoder.decode(PipelineShape.self, from: node, path: path,
                                               knownKeys: ["input", "parsers", "outputs", "queue", "assembly"], diagnostics: &diagnostics) else {
            return nil
        }
        let inputPath = path + [AnyCodingKey(stringValue: "input")]
        let input = configure(shape.input.node, "input", inputPath, .input, registry, &diagnostics)
        let parsers = (shape.parsers ?? []).enumerated().map { index, item in
            configure(item.node, "parsers[\(index)]", path + [AnyCodingKey(stringValue: "parsers"), AnyCodingKey(intValue: index)],
                      .parser, registry, &diagnostics)
        }
        let outputs = shape.outputs.enumerated().map { index, item in
            configure(item.node, "outputs[\(index)]", path + [AnyCodingKey(stringValue: "outputs"), AnyCodingKey(intValue: index)],
                      .output, registry, &diagnostics)
        }
        if shape.outputs.isEmpty {
            diagnostics.append(ConfigDiagnostic(location: node["outputs"]?.location ?? node.location,
                                                path: renderPath(path) + ".outputs", message: "a pipeline needs at least one output"))
        }
        guard case .input(let inputPlugin)? = input else { return nil }
        var parserPlugins: [ConfiguredPlugin<any Parser>] = []
        for case .parser(let plugin)? in parsers { parserPlugins.append(plugin) }
        var outputPlugins: [ConfiguredPlugin<any Output>] = []
        for case .output(let plugin)? in outputs { outputPlugins.append(plugin) }
        guard parserPlugins.count == parsers.count, outputPlugins.count == outputs.count, !outputs.isEmpty else {
            return nil
        }
        return PipelineSpec(name: name, location: location, input: inputPlugin, parsers: parserPlugins,
                            outputs: outputPlugins, queue: shape.queue ?? QueueSettings(),
                            assembly: shape.assembly ?? AssemblySettings(), fingerprint: node.canonical)
    }

    private enum Configured {
        case input(ConfiguredPlugin<any Input>)
        case parser(ConfiguredPlugin<any Parser>)
        case output(ConfiguredPlugin<any Output>)
    }

    /// Looks up the node's `type` and decodes the plugin's configuration.
    private static func configure(
        _ node: YAMLNode, _ stageName: String, _ path: [any CodingKey], _ stage: Stage, _ registry: PluginRegistry,
        _ diagnostics: inout [ConfigDiagnostic]
    ) -> Configured? {
        let known = registry.kinds(of: stage).joined(separator: ", ")
        guard node.mapping != nil else {
            diagnostics.append(ConfigDiagnostic(location: node.location, path: renderPath(path),
                                                message: "expected a mapping with a 'type' (one of: \(known)), found \(node.kindName)"))
            return nil
        }
        guard let typeNode = node["type"], let kind = typeNode.scalar, !typeNode.isNull else {
            diagnostics.append(ConfigDiagnostic(location: node.location, path: renderPath(path),
                                                message: "missing required key 'type' (one of: \(known))"))
            return nil
        }
        let typePath = renderPath(path + [AnyCodingKey(stringValue: "type")])
        guard let entry = registry.entry(kind: kind) else {
            diagnostics.append(ConfigDiagnostic(location: typeNode.location, path: typePath,
                                                message: "unknown \(stage.rawValue) type '\(kind)' (known: \(known))"))
            return nil
        }
        guard entry.stage == stage else {
            diagnostics.append(ConfigDiagnostic(location: typeNode.location, path: typePath,
                                                message: "'\(kind)' is \(entry.stage.withArticle), not \(stage.withArticle) (known: \(known))"))
            return nil
        }
        // Every output may buffer on disk; the runtime, not the plugin, reads that key.
        let common = entry.options.dropFirst(entry.type.options.count).map(\.name)
        var buffer: BufferConfiguration?
        if let bufferNode = node["buffer"], stage == .output {
            buffer = ConfigDecoder.decode(BufferConfiguration.self, from: bufferNode, path: path + [AnyCodingKey(stringValue: "buffer")],
                                          knownKeys: ["type", "max_bytes", "fsync"], diagnostics: &diagnostics)
            if buffer == nil { return nil }
        }
        func configured<P: Plugin, Instance>(
            _ type: P.Type, _ upcast: @escaping @Sendable (P) -> Instance
        ) -> ConfiguredPlugin<Instance>? {
            guard let configuration = ConfigDecoder.decode(
                P.Configuration.self, from: node, path: path, ignoredKeys: Set(["type"] + common),
                knownKeys: ["type"] + P.options.map(\.name) + common, diagnostics: &diagnostics)
            else { return nil }
            return ConfiguredPlugin(kind: kind, stageName: stageName, location: node.location, buffer: buffer?.diskQueue) { context in
                upcast(try P(configuration: configuration, context: context))
            }
        }
        switch entry {
        case .input(let type): return configured(type) { $0 as any Input }.map(Configured.input)
        case .parser(let type): return configured(type) { $0 as any Parser }.map(Configured.parser)
        case .output(let type): return configured(type) { $0 as any Output }.map(Configured.output)
        }
    }
}

/// Captures a node as it is, for the loader to interpret.
struct RawNode: Decodable {
    var node: YAMLNode

    init(from decoder: any Decoder) throws {
        guard let decoder = decoder as? NodeDecoder else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a YAML decoder"))
        }
        node = decoder.node
    }
}

/// One pipeline's keys.
private struct PipelineShape: Decodable {
    var input: RawNode
    var parsers: [RawNode]?
    var outputs: [RawNode]
    var queue: QueueSettings?
    var assembly: AssemblySettings?
}
