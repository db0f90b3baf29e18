import TraceTailCore

/// The generic route's body as records, by media type: a JSON object or an array of objects, NDJSON, or text lines.
/// Each item's raw bytes are its JSON (or its line) for the pipeline's parsers.
enum IngestItems {
    static func records(_ body: [UInt8], mediaType: String, source: String) throws(RequestError) -> RecordBatch {
        var batch = RecordBatch(ack: AckToken(0))
        let now = Clock.nowNanoseconds
        func add(_ bytes: some Collection<UInt8>) {
            let index = UInt64(batch.records.count)
            batch.append(bytes, position: SourcePosition(source: source, offsets: index..<index + 1), observedTime: now)
        }
        switch mediaType {
        case "application/json":
            let document: JSONValue
            do {
                document = try JSONReader.parse(body)
            } catch {
                throw .badRequest("invalid JSON: \(error)")
            }
            switch document {
            case .object: add(trimmed(body[...]))
            case .array(let items):
                for (index, item) in items.enumerated() {
                    guard case .object = item else { throw .badRequest("item \(index) is not a JSON object") }
                    add(JSONFlattener.text(item).utf8)
                }
            default: throw .badRequest("expected a JSON object or an array of objects")
            }
        case "application/x-ndjson", "application/jsonl", "application/json-lines", "application/jsonlines":
            for (number, line) in lines(body) {
                do {
                    guard case .object = try JSONReader.parse(line) else {
                        throw RequestError.badRequest("line \(number) is not a JSON object")
                    }
                } catch let error as RequestError {
                    throw error
                } catch {
                    throw .badRequest("line \(number): invalid JSON: \(error)")
                }
                add(line)
            }
        case "text/plain":
            for (_, line) in lines(body) { add(line) }
        default:
            throw .unsupported("Content-Type '\(mediaType)' (use application/json, application/x-ndjson or text/plain)")
        }
        return batch
    }

    /// Non-blank lines with their 1-based numbers, without line ends.
    static func lines(_ body: [UInt8]) -> [(Int, ArraySlice<UInt8>)] {
        body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated().compactMap { index, line in
            let text = trimmed(line)
            return text.isEmpty ? nil : (index + 1, text)
        }
    }

    static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return []
        }
        return bytes[first...last]
    }
}
