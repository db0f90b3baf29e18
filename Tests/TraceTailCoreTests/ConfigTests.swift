import Testing
import TestSupport
@testable import TraceTailCore

let testRegistry = try! PluginRegistry(inputs: [ScriptedInput.self], parsers: [ProbeParser.self], outputs: [RecordingOutput.self])

/// Loads configuration text; returns the errors as `line:column: path: message` strings (file name dropped).
func configErrors(_ text: String, environment: [String: String] = [:]) -> [String] {
    do {
        _ = try ConfigLoader.load(text: text, file: "t.yaml", registry: testRegistry, environment: environment)
        return []
    } catch {
        return error.diagnostics.map { String($0.description.dropFirst("t.yaml:".count)) }
    }
}

func pipeline(parser: String) -> String {
    """
    pipelines:
      main:
        input: { type: scripted, batches: 1, recordsPerBatch: 1, recordBytes: 10, holdOpen: false }
        parsers:
          - \(parser)
        outputs:
          - type: recording
    """
}

@Suite struct ConfigErrorTests {
    @Test func aValidConfigLoads() throws {
        let config = try ConfigLoader.load(
            text: pipeline(parser: "{ type: probe, pattern: x, limit: 3, timeout: 250ms, fields: [a, b], mode: careful }"),
            file: "t.yaml", registry: testRegistry, environment: [:])
        #expect(config.pipelines.map(\.name) == ["main"])
        #expect(config.pipelines[0].summary == "scripted → probe → recording")
        #expect(config.service.gracePeriod.duration == .seconds(10))
    }

    @Test func unknownKeyIsReportedAtTheKeyWithTheKnownKeys() {
        #expect(configErrors(pipeline(parser: "{ type: probe, pattern: x, limt: 3 }")) == [
            "5:36: pipelines.main.parsers[0].limt: unknown key 'limt' (known: type, pattern, limit, enabled, timeout, fields, api_key, mode)",
        ])
    }

    @Test func wrongTypeIsReportedAtTheValue() {
        #expect(configErrors(pipeline(parser: "{ type: probe, pattern: x, limit: lots }")) == [
            "5:43: pipelines.main.parsers[0].limit: expected a whole number, found 'lots'",
        ])
        #expect(configErrors(pipeline(parser: "{ type: probe, pattern: x, fields: a }")) == [
            "5:44: pipelines.main.parsers[0].fields: expected a list, found 'a'",
        ])
        #expect(configErrors(pipeline(parser: "{ type: probe, pattern: x, mode: quick }")) == [
            "5:42: pipelines.main.parsers[0].mode: expected one of fast, careful, found 'quick'",
        ])
        #expect(configErrors(pipeline(parser: "{ type: probe, pattern: x, timeout: soon }")) == [
            "5:45: pipelines.main.parsers[0].timeout: expected a duration such as 500ms, 10s, 5m or 1h, found 'soon'",
        ])
    }

    @Test func missingRequiredKeyIsReportedAtItsMapping() {
        #expect(configErrors(pipeline(parser: "{ type: probe, limit: 3 }")) == [
            "5:9: pipelines.main.parsers[0]: missing required key 'pattern'",
        ])
        #expect(configErrors("pipelines:\n  main:\n    input: { type: scripted, batches: 1, recordsPerBatch: 1, recordBytes: 1, holdOpen: false }\n") == [
            "3:5: pipelines.main: missing required key 'outputs'",
        ])
    }

    @Test func unknownPluginTypeNamesTheKnownOnes() {
        #expect(configErrors(pipeline(parser: "{ type: regex }")) == [
            "5:17: pipelines.main.parsers[0].type: unknown parser type 'regex' (known: probe)",
        ])
        #expect(configErrors(pipeline(parser: "{ type: recording }")) == [
            "5:17: pipelines.main.parsers[0].type: 'recording' is an output, not a parser (known: probe)",
        ])
        #expect(configErrors(pipeline(parser: "{ pattern: x }")) == [
            "5:9: pipelines.main.parsers[0]: missing required key 'type' (one of: probe)",
        ])
    }

    @Test func duplicatePipelineNamesPointAtTheSecondAndTheFirst() {
        let text = """
        pipelines:
          main:
            input: { type: scripted, batches: 1, recordsPerBatch: 1, recordBytes: 1, holdOpen: false }
            outputs: [ { type: recording } ]
          main:
            input: { type: scripted, batches: 2, recordsPerBatch: 1, recordBytes: 1, holdOpen: false }
            outputs: [ { type: recording } ]
        """
        #expect(configErrors(text) == ["5:3: duplicate key 'main' (first defined at line 2, column 3)"])
    }

    @Test func invalidYAMLIsReportedWhereLibYAMLStopped() {
        #expect(configErrors("pipelines:\n  main: [a, b\n  other: 1\n") == [
            "3:8: invalid YAML: did not find expected ',' or ']' while parsing a flow sequence",
        ])
        #expect(configErrors("pipelines:\n\tmain: 1\n") == [
            "2:1: invalid YAML: found character that cannot start any token while scanning for the next token",
        ])
    }

    @Test func everyMistakeIsReportedInOnePass() {
        let text = """
        service:
          grace_period: forever
        pipelines:
          first:
            input: { type: scripted, batches: many, recordsPerBatch: 1, recordBytes: 1, holdOpen: false }
            outputs: [ { type: recordin } ]
          second:
            input: { type: scripted, batches: 1, recordsPerBatch: 1, recordBytes: 1, holdOpen: false }
            parsers: [ { type: probe, pattern: x, colour: red } ]
            outputs: [ { type: recording } ]
            extra: 1
        """
        #expect(configErrors(text) == [
            "2:17: service.grace_period: expected a duration such as 500ms, 10s, 5m or 1h, found 'forever'",
            "5:39: pipelines.first.input.batches: expected a whole number, found 'many'",
            "6:24: pipelines.first.outputs[0].type: unknown output type 'recordin' (known: recording)",
            "9:43: pipelines.second.parsers[0].colour: unknown key 'colour' (known: type, pattern, limit, enabled, timeout, fields, api_key, mode)",
            "11:5: pipelines.second.extra: unknown key 'extra' (known: input, parsers, outputs, queue, assembly)",
        ])
    }

    @Test func structuralMistakes() {
        #expect(configErrors("- a\n- b\n") == ["1:1: expected a mapping with 'service' and 'pipelines', found a list"])
        #expect(configErrors("pipelines: {}\nextra: 1\n") == [
            "1:12: pipelines: expected a mapping of pipeline names to pipelines",
            "2:1: extra: unknown key 'extra' (expected 'service' or 'pipelines')",
        ])
        #expect(configErrors("pipelines:\n  \"bad name\":\n    input: { type: scripted, batches: 1, recordsPerBatch: 1, recordBytes: 1, holdOpen: false }\n    outputs: [ { type: recording } ]\n") == [
            "2:3: pipelines: pipeline name 'bad name' may use only letters, digits, '-', '_' and '.'",
        ])
        #expect(configErrors("pipelines:\n  p:\n    input: { type: scripted, batches: 1, recordsPerBatch: 1, recordBytes: 1, holdOpen: false }\n    outputs: []\n") == [
            "4:14: pipelines.p.outputs: a pipeline needs at least one output",
        ])
    }

    @Test func anchorsAndAliasesResolve() throws {
        let text = """
        pipelines:
          main:
            input: &source { type: scripted, batches: 1, recordsPerBatch: 1, recordBytes: 1, holdOpen: false }
            outputs: [ { type: recording } ]
          copy:
            input: *source
            outputs: [ { type: recording } ]
        """
        let config = try ConfigLoader.load(text: text, file: "t.yaml", registry: testRegistry, environment: [:])
        #expect(config.pipelines.map(\.name) == ["main", "copy"])
    }
}

@Suite struct InterpolationTests {
    let interpolator = Interpolator(environment: ["HOST": "example.com", "EMPTY": "", "PORT": "4318"])

    @Test func expandsVariablesDefaultsAndDollars() throws {
        #expect(try interpolator.expand("https://${HOST}:${PORT}/v1") == "https://example.com:4318/v1")
        #expect(try interpolator.expand("${MISSING:-fallback}") == "fallback")
        #expect(try interpolator.expand("${EMPTY:-fallback}") == "fallback")
        #expect(try interpolator.expand("${HOST:-fallback}") == "example.com")
        #expect(try interpolator.expand("cost $$5 and $x") == "cost $5 and $x")
        #expect(try interpolator.expand("$${HOST}") == "${HOST}")
        #expect(try interpolator.expand("${MISSING:-}") == "")
    }

    @Test func requiredVariablesFailWithTheirMessage() {
        #expect(throws: Interpolator.Failure.self) { try interpolator.expand("${TOKEN:?set TOKEN to the ingest secret}") }
        let errors = configErrors(pipeline(parser: "{ type: probe, pattern: \"${PATTERN:?give a pattern}\" }"))
        #expect(errors == ["5:33: pipelines.main.parsers[0].pattern: environment variable PATTERN is not set: give a pattern"])
        #expect(configErrors(pipeline(parser: "{ type: probe, pattern: \"${PATTERN}\" }")) == [
            "5:33: pipelines.main.parsers[0].pattern: environment variable PATTERN is not set (write ${PATTERN:-default} to give a default)",
        ])
        #expect(configErrors(pipeline(parser: "{ type: probe, pattern: \"${PATTERN\" }")) == [
            "5:33: pipelines.main.parsers[0].pattern: unterminated '${' in '${PATTERN'",
        ])
    }

    @Test func interpolatedValuesAreDecoded() throws {
        let config = try ConfigLoader.load(
            text: pipeline(parser: "{ type: probe, pattern: \"${P}\", limit: \"${LIMIT:-7}\" }"),
            file: "t.yaml", registry: testRegistry, environment: ["P": "from-env"])
        var batch = RecordBatch(ack: AckToken(0))
        batch.append(Array("x".utf8), position: SourcePosition(source: "s", offsets: 0..<1), observedTime: 0)
        let parser = try config.pipelines[0].parsers[0].instantiate(.forTests())
        parser.parse(&batch)
        #expect(batch.records[0].attributes["probe"] == .string("from-env"))
    }
}

@Suite struct RedactionTests {
    @Test func secretValuesNeverAppearInErrors() {
        let secret = "lw_is_redaction-test-4242"
        let text = pipeline(parser: "{ type: probe, pattern: x, api_key: \"${KEY}\", limit: \"${KEY}\" }")
        let errors = configErrors(text, environment: ["KEY": secret])
        #expect(errors == ["5:62: pipelines.main.parsers[0].limit: expected a whole number, found '[REDACTED]'"])
        #expect(!errors.joined().contains(secret))
    }

    @Test func valuesUnderSecretLookingKeysAreMaskedEvenWhenMistyped() {
        let errors = configErrors(pipeline(parser: "{ type: probe, pattern: x, api_key: [sk-abc-literal-1] }"))
        #expect(errors == ["5:45: pipelines.main.parsers[0].api_key: expected a string, found a list"])
        let unknown = configErrors(pipeline(parser: "{ type: probe, pattern: x, bearer_token: tok-literal-777 }"))
        #expect(unknown.count == 1)
        #expect(Redactor.shared.redact("header tok-literal-777") == "header [REDACTED]")
    }

    @Test func secretsDescribeThemselvesMasked() {
        let secret = Secret("pat-very-secret-99")
        #expect("\(secret)" == "[REDACTED]")
        #expect(String(reflecting: secret) == "[REDACTED]")
        #expect(Redactor.shared.redact("failed with pat-very-secret-99 in the URL") == "failed with [REDACTED] in the URL")
        #expect(ConfigDiagnostic(message: "bad pat-very-secret-99").message == "bad [REDACTED]")
    }

    @Test func secretKeyNames() {
        for key in ["api_key", "bearer_secret", "token", "X-Auth-Token", "password", "Authorization"] {
            #expect(Redactor.isSecretKey(key), "\(key)")
        }
        for key in ["endpoint", "format", "pattern", "include", "bearer_secret_file"] {
            #expect(!Redactor.isSecretKey(key), "\(key)")
        }
    }
}

@Suite struct ConfigValueTests {
    @Test func durations() {
        #expect(ConfigDuration(parsing: "250ms")?.duration == .milliseconds(250))
        #expect(ConfigDuration(parsing: "10s")?.duration == .seconds(10))
        #expect(ConfigDuration(parsing: "1.5s")?.duration == .milliseconds(1500))
        #expect(ConfigDuration(parsing: "5m")?.duration == .seconds(300))
        #expect(ConfigDuration(parsing: "2h")?.duration == .seconds(7200))
        #expect(ConfigDuration(parsing: "3")?.duration == .seconds(3))
        #expect(ConfigDuration(parsing: "-1s") == nil)
        #expect(ConfigDuration(parsing: "soon") == nil)
    }

    @Test func sizes() {
        #expect(ByteSize(parsing: "4096")?.bytes == 4096)
        #expect(ByteSize(parsing: "64KiB")?.bytes == 65536)
        #expect(ByteSize(parsing: "10 MiB")?.bytes == 10 << 20)
        #expect(ByteSize(parsing: "1GB")?.bytes == 1 << 30)
        #expect(ByteSize(parsing: "12XB") == nil)
        #expect(ByteSize(parsing: "-1") == nil)
    }
}

@Suite struct RegistryTests {
    @Test func looksUpByKindAndStage() throws {
        #expect(testRegistry.entry(kind: "probe")?.stage == .parser)
        #expect(testRegistry.entry(kind: "scripted")?.stage == .input)
        #expect(testRegistry.entry(kind: "nope") == nil)
        #expect(testRegistry.kinds(of: .output) == ["recording"])
    }

    @Test func duplicateKindsAreRejected() {
        #expect(throws: PluginRegistry.DuplicateKind.self) {
            try PluginRegistry(inputs: [ScriptedInput.self], parsers: [ProbeParser.self, ProbeParser.self], outputs: [])
        }
    }
}
