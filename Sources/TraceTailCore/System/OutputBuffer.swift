import NIOCore

/// A growable byte buffer that encoders write request bodies into through a raw pointer. It cannot be copied, so
/// an append checks capacity and nothing else (no uniqueness check, no bounds check per byte); `bytes` or `text`
/// hands the result over, and `OutputBuffer.byteBuffer(expected:_:)` writes a request body with no copy at all.
public struct OutputBuffer: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// False while writing into memory lent by someone else (a NIO buffer), until it runs out.
    private var ownsMemory: Bool
    /// The bytes written so far.
    public private(set) var count = 0

    public init(capacity: Int = 256) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
        ownsMemory = true
    }

    /// Writes into `memory` until it is full, then into memory of its own.
    private init(lent memory: UnsafeMutableRawBufferPointer) {
        capacity = memory.count
        base = memory.baseAddress!.bindMemory(to: UInt8.self, capacity: memory.count)
        ownsMemory = false
    }

    deinit { if ownsMemory { base.deallocate() } }

    /// Runs `write` on an output buffer over a new NIO buffer's memory, so that the request body needs no copy
    /// afterwards. Only a body larger than `expected` bytes continues in memory of its own and is copied once.
    public static func byteBuffer(expected: Int, _ write: (inout OutputBuffer) -> Void) -> ByteBuffer {
        var body = ByteBufferAllocator().buffer(capacity: expected)
        var outgrown: ByteBuffer?
        body.writeWithUnsafeMutableBytes(minimumWritableBytes: expected) { memory in
            var output = OutputBuffer(lent: memory)
            write(&output)
            guard output.ownsMemory else { return output.count }
            outgrown = output.byteBuffer
            return 0
        }
        return outgrown ?? body
    }

    /// The bytes written, as an array.
    public var bytes: [UInt8] { [UInt8](UnsafeBufferPointer(start: base, count: count)) }

    /// The bytes written, as a NIO buffer (a request body).
    public var byteBuffer: ByteBuffer { ByteBuffer(bytes: UnsafeRawBufferPointer(start: base, count: count)) }

    /// The bytes written, as text (invalid UTF-8 replaced).
    public var text: String { String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self) }

    /// Makes room for `extra` more bytes.
    @inline(__always)
    public mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    private mutating func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        grown.update(from: base, count: count)
        if ownsMemory { base.deallocate() }
        base = grown
        capacity = newCapacity
        ownsMemory = true
    }

    @inline(__always)
    public mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    @inline(__always)
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        let target = UnsafeMutableRawPointer(base + count)
        if bytes.count <= 16 { // member names, punctuation, short values: word copies beat a call to memmove
            var offset = 0
            while offset + 8 <= bytes.count {
                target.storeBytes(of: source.loadUnaligned(fromByteOffset: offset, as: UInt64.self), toByteOffset: offset, as: UInt64.self)
                offset += 8
            }
            while offset < bytes.count {
                target.storeBytes(of: source.load(fromByteOffset: offset, as: UInt8.self), toByteOffset: offset, as: UInt8.self)
                offset += 1
            }
        } else {
            target.copyMemory(from: source, byteCount: bytes.count)
        }
        count += bytes.count
    }

    public mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) { append(UnsafeRawBufferPointer(bytes)) }

    public mutating func append(_ bytes: some Collection<UInt8>) {
        let copied: Void? = bytes.withContiguousStorageIfAvailable { append($0) }
        if copied == nil { Array(bytes).withUnsafeBytes { append($0) } }
    }

    @inline(__always)
    public mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends a string's UTF-8 bytes.
    public mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append($0) }
    }

    /// Appends an unsigned LEB128 varint (protobuf's and the record codec's).
    @inline(__always)
    public mutating func varint(_ value: UInt64) {
        reserve(10)
        var value = value
        while value >= 0x80 {
            base[count] = UInt8(truncatingIfNeeded: value) | 0x80
            count += 1
            value >>= 7
        }
        base[count] = UInt8(value)
        count += 1
    }

    /// Appends an integer's bytes in the given order.
    @inline(__always)
    public mutating func fixed(_ value: UInt64, bigEndian: Bool = false) {
        reserve(8)
        UnsafeMutableRawPointer(base + count).storeBytes(of: bigEndian ? value.bigEndian : value.littleEndian, as: UInt64.self)
        count += 8
    }

    /// Lets `body` write at most `limit` bytes straight into the buffer; it returns how many it wrote.
    @inline(__always)
    public mutating func write(atMost limit: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) {
        reserve(limit)
        let written = body(base + count)
        precondition(written >= 0 && written <= limit)
        count += written
    }

    /// A byte already written.
    public subscript(position: Int) -> UInt8 {
        get {
            precondition(position >= 0 && position < count)
            return base[position]
        }
        set {
            precondition(position >= 0 && position < count)
            base[position] = newValue
        }
    }

    /// Moves the bytes from `position` on by `shift` bytes, towards the end (what lies in between is undefined until
    /// overwritten) or, negative, towards the start (dropping what they cover): a length prefix resized in place.
    public mutating func move(from position: Int, by shift: Int) {
        precondition(position >= 0 && position <= count && position + shift >= 0)
        if shift > 0 { reserve(shift) }
        UnsafeMutableRawPointer(base + position + shift).copyMemory(from: base + position, byteCount: count - position) // may overlap: memmove
        count += shift
    }
}
