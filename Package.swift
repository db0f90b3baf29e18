// swift-tools-version: 6.1
import Foundation
import PackageDescription

/// Benchmarks (ordo-one/benchmark) are built only when asked for, so that tests and CI need not build them:
/// `TRACETAIL_BENCHMARKS=1 swift package benchmark`.
let withBenchmarks = ProcessInfo.processInfo.environment["TRACETAIL_BENCHMARKS"] != nil

/// A plugin target lives in `Plugins/<name>` and depends on the framework only.
func plugin(_ name: String, _ extra: [Target.Dependency] = []) -> Target {
    .target(name: name, dependencies: ["TraceTailCore"] + extra, path: "Plugins/\(name)")
}

let plugins = ["StdinInput", "FileInput", "WebhookInput", "JSONParser", "KeyValueParser", "ConsoleOutput", "DiscardOutput", "OTLPOutput", "LangWatchOutput", "LangSmithOutput"]

let package = Package(
    name: "TraceTail",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tracetail", targets: ["tracetail"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibYAML",
            path: "Sources/CLibYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .systemLibrary(
            name: "CPCRE2",
            path: "Sources/CPCRE2",
            pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            path: "Sources/CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
        .target(
            name: "CSimdJSON",
            path: "Sources/CSimdJSON",
            linkerSettings: [.linkedLibrary("simdjson")]
        ),
        .target(
            name: "TraceTailCore",
            dependencies: [
                "CLibYAML",
                "CPCRE2",
                "CSimdJSON",
                "CZlib",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        plugin("StdinInput"),
        plugin("FileInput", [.product(name: "DequeModule", package: "swift-collections")]),
        plugin("WebhookInput", [
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        plugin("JSONParser"),
        plugin("KeyValueParser"),
        plugin("ConsoleOutput"),
        plugin("DiscardOutput"),
        plugin("OTLPOutput", [.product(name: "NIOCore", package: "swift-nio")]),
        plugin("LangWatchOutput", [.product(name: "NIOCore", package: "swift-nio")]),
        plugin("LangSmithOutput", [.product(name: "NIOCore", package: "swift-nio")]),
        .target(
            name: "BuiltinPlugins",
            dependencies: plugins.map { .target(name: $0) },
            path: "Plugins/BuiltinPlugins"
        ),
        .executableTarget(
            name: "tracetail",
            dependencies: [
                "BuiltinPlugins",
                "CMalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .target(name: "TestSupport", dependencies: [
            "TraceTailCore",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ], path: "Tests/TestSupport", exclude: ["OTLP/proto", "OTLP/README.md"]),
        .testTarget(name: "TraceTailCoreTests", dependencies: [
            "TraceTailCore", "TestSupport",
            .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        .testTarget(name: "PluginTests", dependencies: [
            "BuiltinPlugins", "TestSupport",
            .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        .testTarget(name: "EndToEndTests", dependencies: [
            "tracetail", "TestSupport", .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)

if withBenchmarks {
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]))
    package.targets.append(
        .target(name: "BenchmarkSupport", dependencies: ["BuiltinPlugins"], path: "Benchmarks/BenchmarkSupport"))
    package.targets.append(
        .executableTarget(
            name: "StageBenchmarks",
            dependencies: ["BenchmarkSupport", "BuiltinPlugins", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/StageBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]))
    package.targets.append(
        .executableTarget(name: "OTLPSink", dependencies: [
            "TraceTailCore", .product(name: "Hummingbird", package: "hummingbird"),
        ], path: "Benchmarks/OTLPSink"))
    package.targets.append(
        .executableTarget(name: "SampleLogs", dependencies: ["BenchmarkSupport"], path: "Benchmarks/SampleLogs"))
    package.targets.append(
        .executableTarget(name: "ParserProfile", dependencies: ["BenchmarkSupport", "BuiltinPlugins"], path: "Benchmarks/ParserProfile"))
}
