import TraceTailCore

/// Parses logfmt `key=value` pairs, or the named groups of a regular expression (PCRE2 with JIT), then maps the
/// fields to span fields and gen_ai.* attributes.
public struct KeyValueParser: Parser {
    public struct Configuration: Decodable, Sendable {
        /// With a pattern, its named groups are the fields.
        public var pattern: CompiledPattern?
        /// A named group of the pattern whose text is parsed as logfmt pairs too.
        public var pairsFrom: String?
        public var pairSeparator: UInt8 = UInt8(ascii: " ")
        public var valueSeparator: UInt8 = UInt8(ascii: "=")
        public var settings = ParserSettings()

        public init() {}

        enum CodingKeys: String, CodingKey {
            case pattern
            case pairsFrom = "pairs_from"
            case pairSeparator = "pair_separator"
            case valueSeparator = "value_separator"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            if let text = try container.decodeIfPresent(String.self, forKey: .pattern) {
                do {
                    pattern = try CompiledPattern(text)
                } catch {
                    throw ConfigValueError("invalid pattern: \(error.message) (at offset \(error.offset))",
                                           codingPath: container.codingPath + [CodingKeys.pattern], offset: error.offset)
                }
                if pattern!.groups.isEmpty {
                    throw ConfigValueError("the pattern has no named groups, e.g. (?<model>\\S+)",
                                           codingPath: container.codingPath + [CodingKeys.pattern])
                }
            }
            pairsFrom = try container.decodeIfPresent(String.self, forKey: .pairsFrom)
            if let pairsFrom, !(pattern?.groups.contains { $0.name == pairsFrom } ?? false) {
                throw ConfigValueError("pairs_from names '\(pairsFrom)', which is no named group of the pattern",
                                       codingPath: container.codingPath + [CodingKeys.pairsFrom])
            }
            for (key, keyPath) in [(CodingKeys.pairSeparator, \Configuration.pairSeparator), (.valueSeparator, \.valueSeparator)] {
                guard let text = try container.decodeIfPresent(String.self, forKey: key) else { continue }
                guard text.utf8.count == 1, let byte = text.utf8.first, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") else {
                    throw ConfigValueError("expected a single character other than a quote or backslash, found '\(text)'",
                                           codingPath: container.codingPath + [key])
                }
                self[keyPath: keyPath] = byte
            }
            guard pairSeparator != valueSeparator else {
                throw ConfigValueError("pair_separator and value_separator must differ",
                                       codingPath: container.codingPath + [CodingKeys.valueSeparator])
            }
            settings = try ParserSettings(from: decoder)
        }
    }

    public static let kind = "kv"
    public static let summary = "logfmt key=value pairs, or a regular expression's named groups, into span fields and gen_ai.* attributes."
    public static let options = [
        PluginOption("pattern", "regular expression", default: "none (logfmt)",
                     "PCRE2 with named groups, e.g. '^(?<ts>\\S+) (?<level>\\w+) used (?<output_tokens>\\d+) tokens'; compiled once at startup."),
        PluginOption("pairs_from", "group name", default: "none", "Also parse this named group's text as logfmt pairs."),
        PluginOption("pair_separator", "character", default: "' '", "What separates pairs."),
        PluginOption("value_separator", "character", default: "'='", "What separates a key from its value."),
    ] + ParserSettings.options

    let configuration: Configuration
    let mapper: FieldMapper
    let failures: ParseFailureHandler
    let scanner: LogfmtScanner

    public init(configuration: Configuration, context: PluginContext) {
        self.configuration = configuration
        mapper = FieldMapper(configuration.settings)
        scanner = LogfmtScanner(pairSeparator: configuration.pairSeparator, valueSeparator: configuration.valueSeparator)
        failures = ParseFailureHandler(policy: configuration.settings.onError, context: context)
    }

    public func parse(_ batch: inout RecordBatch) {
        var failed: [Int] = []
        batch.storage.withUnsafeBytes { storage in
            for index in batch.records.indices {
                let line = UnsafeRawBufferPointer(rebasing: storage[batch.records[index].raw]).droppingByteOrderMark
                var matched = true
                let report = mapper.map(&batch.records[index]) { fields in
                    if let pattern = configuration.pattern {
                        matched = pattern.match(line) { name, range in
                            let text = UnsafeRawBufferPointer(rebasing: line[range])
                            if let pairsFrom = configuration.pairsFrom, pairsFrom.utf8.elementsEqual(name) {
                                scanner.scan(text) { fields.add($0, $1) }
                            } else {
                                fields.add(name, .inferred(text))
                            }
                        }
                    } else {
                        matched = scanner.scan(line) { fields.add($0, $1) } > 0
                    }
                }
                if !matched {
                    failures.fail(&batch.records[index], configuration.pattern == nil ? "no key=value pairs" : "the pattern does not match")
                    failed.append(index)
                } else {
                    failures.count(report, at: batch.records[index].position)
                }
            }
        }
        failures.settle(failed, in: &batch)
    }
}
