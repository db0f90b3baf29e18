import TraceTailCore

/// Parses each record — or a field an earlier parser extracted — as one JSON object, with simdjson, then maps its
/// fields to span fields and gen_ai.* attributes.
public struct JSONParser: Parser {
    public struct Configuration: Decodable, Sendable {
        /// Parse the JSON text held in this field instead of the whole line.
        public var field: String?
        public var settings = ParserSettings()

        public init() {}

        enum CodingKeys: String, CodingKey { case field }

        public init(from decoder: any Decoder) throws {
            field = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(String.self, forKey: .field)
            settings = try ParserSettings(from: decoder)
        }
    }

    public static let kind = "json"
    public static let summary = "One JSON object per line (or in a field) into span fields and gen_ai.* attributes."
    public static let options = [
        PluginOption("field", "field name", default: "the whole line",
                     "Parse the JSON text in this field of an earlier parser (e.g. the message part of a kv line)."),
    ] + ParserSettings.options

    let field: String?
    let mapper: FieldMapper
    let failures: ParseFailureHandler
    let reader: JSONFieldReader

    public init(configuration: Configuration, context: PluginContext) {
        field = configuration.field
        mapper = FieldMapper(configuration.settings)
        failures = ParseFailureHandler(policy: configuration.settings.onError, context: context)
        reader = JSONFieldReader(keepWhole: FieldMapper.wholeValueFields)
    }

    public func parse(_ batch: inout RecordBatch) {
        var failed: [Int] = []
        reader.withSession { session in
            for index in batch.records.indices {
                do {
                    if let field {
                        try parseField(field, of: &batch.records[index], session)
                    } else {
                        let range = batch.records[index].raw
                        try batch.storage.withUnsafeBytes { storage throws in
                            try parseObject(UnsafeRawBufferPointer(rebasing: storage[range]), into: &batch.records[index], session)
                        }
                    }
                } catch {
                    failures.fail(&batch.records[index], "\(error)")
                    failed.append(index)
                }
            }
        }
        failures.settle(failed, in: &batch)
    }

    private func parseField(_ field: String, of record: inout Record, _ session: JSONFieldSession) throws {
        guard case .string(var text)? = record.attributes[field] else {
            throw JSONFieldReader.Failure(description: "no text field '\(field)' to parse")
        }
        // Taken out before its fields go in: a field of the same name inside the JSON is kept, not removed with it.
        record.attributes.remove(field)
        do {
            try text.withUTF8 { utf8 throws in
                try parseObject(UnsafeRawBufferPointer(utf8), into: &record, session)
            }
        } catch {
            record.attributes[field] = .string(text) // unparsed: the text stays where it was
            throw error
        }
    }

    private func parseObject(_ bytes: UnsafeRawBufferPointer, into record: inout Record, _ session: JSONFieldSession) throws {
        var isObject = true
        let report = try mapper.map(&record) { fields in
            try session.parse(bytes.droppingByteOrderMark) { key, value in
                if key.isEmpty { isObject = false } else { fields.add(key, value) }
            }
        }
        if !isObject { throw JSONFieldReader.Failure(description: "expected a JSON object") }
        failures.count(report, at: record.position)
    }
}
