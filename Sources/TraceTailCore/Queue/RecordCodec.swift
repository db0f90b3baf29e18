/// A compact binary form of a whole batch — raw bytes, position and every span field — for disk queues, so that
/// a batch read back after a restart is the batch that was stored.
public enum RecordCodec {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    static let version: UInt8 = 1

    /// The batch's records as bytes (its acknowledgement token is not kept: the queue gives its own).
    public static func encode(_ batch: RecordBatch) -> [UInt8] {
        var out = OutputBuffer(capacity: batch.storage.count + batch.records.count * 160)
        out.append(version)
        out.append(batch.arrivedAsSpans ? 1 : 0)
        out.varint(UInt64(batch.records.count))
        for record in batch.records {
            out.lengthPrefixed(batch.raw(record))
            encode(record, &out)
        }
        return out.bytes
    }

    /// The batch `encode` wrote, with the given token.
    public static func decode(_ bytes: [UInt8], ack: AckToken) throws(Failure) -> RecordBatch {
        var batch = RecordBatch(ack: ack)
        try decode(bytes[...], appendingTo: &batch)
        return batch
    }

    /// Appends the records `encode` wrote to `batch` (which takes their `arrivedAsSpans` when it is empty); on
    /// failure the batch is left as it was.
    /// - Parameter identity: replaces every record's `position.identity`.
    public static func decode(_ bytes: ArraySlice<UInt8>, appendingTo batch: inout RecordBatch, identity: String? = nil) throws(Failure) {
        let (records, stored) = (batch.records.count, batch.storage.count)
        do throws(Failure) {
            var input = ByteReader(bytes)
            guard try input.byte() == version else { throw Failure(description: "unknown record encoding version") }
            let flags = try input.byte()
            let count = try input.count()
            if records == 0 { batch.arrivedAsSpans = flags & 1 != 0 }
            // No `reserveCapacity(records + count)`: called per entry, it grows the array by exactly that much each
            // time, copying every record before (most of a queue drain's time went to that); appends grow it
            // geometrically, and `DiskQueue.nextBatch` reserves for a whole lease.
            for _ in 0..<count {
                let raw = try input.bytes()
                let start = batch.storage.count
                raw.withUnsafeBufferPointer { batch.storage.append(contentsOf: $0) }
                var record = try decodeRecord(&input, raw: start..<batch.storage.count,
                                              previousResource: batch.records.last?.resource)
                if let identity { record.position.identity = identity }
                batch.records.append(record)
            }
            guard input.isAtEnd else { throw Failure(description: "trailing bytes after \(count) records") }
        } catch {
            batch.records.removeSubrange(records...)
            batch.storage.removeSubrange(stored...)
            throw error
        }
    }

    private struct Present: OptionSet {
        let rawValue: UInt16
        static let traceID = Present(rawValue: 1 << 0)
        static let spanID = Present(rawValue: 1 << 1)
        static let parentSpanID = Present(rawValue: 1 << 2)
        static let name = Present(rawValue: 1 << 3)
        static let type = Present(rawValue: 1 << 4)
        static let startTime = Present(rawValue: 1 << 5)
        static let endTime = Present(rawValue: 1 << 6)
        static let input = Present(rawValue: 1 << 7)
        static let output = Present(rawValue: 1 << 8)
        static let cost = Present(rawValue: 1 << 9)
        static let parseError = Present(rawValue: 1 << 10)
        static let resource = Present(rawValue: 1 << 11)
        static let events = Present(rawValue: 1 << 12)
    }

    private static func encode(_ record: Record, _ out: inout OutputBuffer) {
        out.lengthPrefixed(record.position.source)
        out.lengthPrefixed(record.position.identity)
        out.varint(record.position.offsets.lowerBound)
        out.varint(record.position.offsets.upperBound)
        out.varint(record.observedTime)
        var present: Present = []
        if record.traceID != nil { present.insert(.traceID) }
        if record.spanID != nil { present.insert(.spanID) }
        if record.parentSpanID != nil { present.insert(.parentSpanID) }
        if record.name != nil { present.insert(.name) }
        if record.type != nil { present.insert(.type) }
        if record.startTime != nil { present.insert(.startTime) }
        if record.endTime != nil { present.insert(.endTime) }
        if record.input != nil { present.insert(.input) }
        if record.output != nil { present.insert(.output) }
        if record.cost != nil { present.insert(.cost) }
        if record.parseError != nil { present.insert(.parseError) }
        if record.resource != nil { present.insert(.resource) }
        if !record.events.isEmpty { present.insert(.events) }
        out.varint(UInt64(present.rawValue))
        if let id = record.traceID {
            out.fixed(id.high)
            out.fixed(id.low)
        }
        if let id = record.spanID { out.fixed(id.value) }
        if let id = record.parentSpanID { out.fixed(id.value) }
        if let name = record.name { out.lengthPrefixed(name) }
        if let type = record.type { out.lengthPrefixed(type.rawValue) }
        if let time = record.startTime { out.varint(time) }
        if let time = record.endTime { out.varint(time) }
        if let input = record.input { payload(input, &out) }
        if let output = record.output { payload(output, &out) }
        if let cost = record.cost { out.fixed(cost.bitPattern) }
        if let problem = record.parseError { out.lengthPrefixed(problem) }
        if let resource = record.resource { attributes(resource.attributes, &out) }
        if !record.events.isEmpty {
            out.varint(UInt64(record.events.count))
            for event in record.events {
                out.lengthPrefixed(event.name)
                out.varint(event.time)
                attributes(event.attributes, &out)
            }
        }
        switch record.status {
        case .unset: out.append(0)
        case .ok: out.append(1)
        case .error(let message, let stacktrace):
            out.append(2)
            out.lengthPrefixed(message)
            out.varint(UInt64(stacktrace.count))
            for line in stacktrace { out.lengthPrefixed(line) }
        }
        attributes(record.attributes, &out)
    }

    private static func attributes(_ attributes: Attributes, _ out: inout OutputBuffer) {
        out.varint(UInt64(attributes.count))
        for (key, value) in attributes {
            out.lengthPrefixed(key)
            attribute(value, &out)
        }
    }

    private static func attributes(_ input: inout ByteReader) throws(Failure) -> Attributes {
        var attributes = Attributes()
        let count = try input.count()
        attributes.reserveCapacity(count)
        for _ in 0..<count {
            let key = try input.string()
            attributes[key] = try attribute(&input)
        }
        return attributes
    }

    private static func decodeRecord(_ input: inout ByteReader, raw: Range<Int>, previousResource: Resource?) throws(Failure) -> Record {
        let source = try input.string()
        let identity = try input.string()
        let lower = try input.varint()
        let upper = try input.varint()
        guard lower <= upper else { throw Failure(description: "invalid offsets") }
        var record = Record(raw: raw, position: SourcePosition(source: source, identity: identity, offsets: lower..<upper),
                            observedTime: try input.varint())
        let present = Present(rawValue: UInt16(truncatingIfNeeded: try input.varint()))
        if present.contains(.traceID) { record.traceID = TraceID(high: try input.fixed(), low: try input.fixed()) }
        if present.contains(.spanID) { record.spanID = SpanID(try input.fixed()) }
        if present.contains(.parentSpanID) { record.parentSpanID = SpanID(try input.fixed()) }
        if present.contains(.name) { record.name = try input.string() }
        if present.contains(.type) {
            let name = try input.string()
            guard let type = SpanType(rawValue: name) else { throw Failure(description: "unknown span type '\(name)'") }
            record.type = type
        }
        if present.contains(.startTime) { record.startTime = try input.varint() }
        if present.contains(.endTime) { record.endTime = try input.varint() }
        if present.contains(.input) { record.input = try payload(&input) }
        if present.contains(.output) { record.output = try payload(&input) }
        if present.contains(.cost) { record.cost = Double(bitPattern: try input.fixed()) }
        if present.contains(.parseError) { record.parseError = try input.string() }
        if present.contains(.resource) {
            let resource = Resource(try attributes(&input))
            // The records of one source share one resource again.
            record.resource = resource == previousResource ? previousResource : resource
        }
        if present.contains(.events) {
            for _ in 0..<(try input.count()) {
                record.events.append(SpanEvent(name: try input.string(), time: try input.varint(), attributes: try attributes(&input)))
            }
        }
        switch try input.byte() {
        case 0: record.status = .unset
        case 1: record.status = .ok
        case 2:
            let message = try input.string()
            var lines: [String] = []
            for _ in 0..<(try input.count()) { lines.append(try input.string()) }
            record.status = .error(message: message, stacktrace: lines)
        default: throw Failure(description: "unknown status")
        }
        record.attributes = try attributes(&input)
        return record
    }

    private static func payload(_ payload: SpanPayload, _ out: inout OutputBuffer) {
        switch payload {
        case .text(let text):
            out.append(0)
            out.lengthPrefixed(text)
        case .json(let value):
            out.append(1)
            var writer = JSONWriter()
            writer.value(value)
            out.lengthPrefixed(writer.bytes)
        }
    }

    private static func payload(_ input: inout ByteReader) throws(Failure) -> SpanPayload {
        switch try input.byte() {
        case 0: return .text(try input.string())
        case 1:
            do {
                return .json(try JSONReader.parse(try input.bytes()))
            } catch {
                throw Failure(description: "invalid JSON payload: \(error)")
            }
        default: throw Failure(description: "unknown payload kind")
        }
    }

    private static func attribute(_ value: AttributeValue, _ out: inout OutputBuffer) {
        switch value {
        case .string(let text):
            out.append(0)
            out.lengthPrefixed(text)
        case .int(let number):
            out.append(1)
            out.fixed(UInt64(bitPattern: number))
        case .double(let number):
            out.append(2)
            out.fixed(number.bitPattern)
        case .bool(let flag):
            out.append(flag ? 4 : 3)
        case .array(let items):
            out.append(5)
            out.varint(UInt64(items.count))
            for item in items { attribute(item, &out) }
        }
    }

    private static func attribute(_ input: inout ByteReader, depth: Int = 0) throws(Failure) -> AttributeValue {
        guard depth < 64 else { throw Failure(description: "attribute nested too deeply") }
        switch try input.byte() {
        case 0: return .string(try input.string())
        case 1: return .int(Int64(bitPattern: try input.fixed()))
        case 2: return .double(Double(bitPattern: try input.fixed()))
        case 3: return .bool(false)
        case 4: return .bool(true)
        case 5:
            var items: [AttributeValue] = []
            for _ in 0..<(try input.count()) { items.append(try attribute(&input, depth: depth + 1)) }
            return .array(items)
        default: throw Failure(description: "unknown attribute kind")
        }
    }
}

/// The record codec's fields: single bytes, little-endian integers, LEB128 varints and length-prefixed bytes.
extension OutputBuffer {
    mutating func lengthPrefixed(_ data: some Collection<UInt8>) {
        varint(UInt64(data.count))
        append(data)
    }

    mutating func lengthPrefixed(_ text: String) { lengthPrefixed(text.utf8) }
}

/// Reads what the codec wrote; every read checks the bounds.
struct ByteReader {
    private let data: ArraySlice<UInt8>
    private var index: Int

    init(_ data: ArraySlice<UInt8>) {
        self.data = data
        index = data.startIndex
    }

    var isAtEnd: Bool { index == data.endIndex }

    private static let truncated = RecordCodec.Failure(description: "truncated record data")

    mutating func byte() throws(RecordCodec.Failure) -> UInt8 {
        guard index < data.endIndex else { throw Self.truncated }
        defer { index += 1 }
        return data[index]
    }

    mutating func varint() throws(RecordCodec.Failure) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try byte()
            guard shift < 64 else { throw RecordCodec.Failure(description: "varint too long") }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    /// A count of things still to read, each at least a byte: larger than what is left means damage.
    mutating func count() throws(RecordCodec.Failure) -> Int {
        let value = try varint()
        guard value <= UInt64(data.endIndex - index) else { throw Self.truncated }
        return Int(value)
    }

    mutating func fixed() throws(RecordCodec.Failure) -> UInt64 {
        guard data.endIndex - index >= 8 else { throw Self.truncated }
        var value: UInt64 = 0
        for shift in 0..<8 { value |= UInt64(data[index + shift]) << (8 * UInt64(shift)) }
        index += 8
        return value
    }

    mutating func bytes() throws(RecordCodec.Failure) -> ArraySlice<UInt8> {
        let length = try count()
        defer { index += length }
        return data[index..<index + length]
    }

    mutating func string() throws(RecordCodec.Failure) -> String {
        String(decoding: try bytes(), as: UTF8.self)
    }
}
