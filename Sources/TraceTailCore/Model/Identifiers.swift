/// A 128-bit W3C trace id.
public struct TraceID: Sendable, Hashable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Parses 32 hex digits (any case); nil otherwise or for the invalid all-zero id.
    public init?(hex: String) {
        var text = hex
        guard let id = text.withUTF8({ TraceID(hexBytes: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = id
    }

    /// Parses 32 hex digits from bytes.
    public init?(hexBytes bytes: UnsafeRawBufferPointer) {
        guard bytes.count == 32, let high = parseHex(UnsafeRawBufferPointer(rebasing: bytes[0..<16])),
              let low = parseHex(UnsafeRawBufferPointer(rebasing: bytes[16..<32])), high | low != 0 else { return nil }
        self.init(high: high, low: low)
    }

    /// A deterministic id for arbitrary bytes (e.g. a `request_id` value or a source position).
    public init(hashing bytes: some Sequence<UInt8>) {
        high = StableHash.hash(bytes, seed: 0x5472_6163_6554_6169)
        low = StableHash.hash(bytes, seed: 0x6c54_7261_6365_4964)
        if high | low == 0 { low = 1 }
    }

    /// 32 lowercase hex digits.
    public var description: String { hexDigits(high) + hexDigits(low) }
}

/// A 64-bit W3C span id.
public struct SpanID: Sendable, Hashable, CustomStringConvertible {
    public var value: UInt64

    public init(_ value: UInt64) { self.value = value }

    /// Parses 16 hex digits (any case); nil otherwise or for the invalid all-zero id.
    public init?(hex: String) {
        var text = hex
        guard let id = text.withUTF8({ SpanID(hexBytes: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = id
    }

    /// Parses 16 hex digits from bytes.
    public init?(hexBytes bytes: UnsafeRawBufferPointer) {
        guard bytes.count == 16, let value = parseHex(bytes), value != 0 else { return nil }
        self.value = value
    }

    /// A deterministic id for arbitrary bytes.
    public init(hashing bytes: some Sequence<UInt8>) {
        let value = StableHash.hash(bytes, seed: 0x5370_616e_4964_5454)
        self.value = value == 0 ? 1 : value
    }

    /// 16 lowercase hex digits.
    public var description: String { hexDigits(value) }
}

/// A hash that is the same on every machine and every run (Swift's `Hasher` is seeded per process):
/// FNV-1a over the bytes, then the SplitMix64 finaliser to spread the bits.
public enum StableHash {
    public static func hash(_ bytes: some Sequence<UInt8>, seed: UInt64) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        hash ^= hash >> 30
        hash = hash &* 0xbf58_476d_1ce4_e5b9
        hash ^= hash >> 27
        hash = hash &* 0x94d0_49bb_1331_11eb
        return hash ^ (hash >> 31)
    }
}

/// Each byte's hex digit value, or 0xFF.
private let hexValues: [UInt8] = (0..<256).map { byte in
    switch byte {
    case 0x30...0x39: return UInt8(byte - 0x30)
    case 0x61...0x66: return UInt8(byte - 0x61 + 10)
    case 0x41...0x46: return UInt8(byte - 0x41 + 10)
    default: return 0xFF
    }
}

/// Up to 16 hex digits (any case) as a number.
func parseHex(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
    hexValues.withUnsafeBufferPointer { table in
        var value: UInt64 = 0
        var invalid: UInt8 = 0
        for byte in bytes {
            let digit = table[Int(byte)]
            invalid |= digit & 0xF0
            value = value << 4 | UInt64(digit & 0x0F)
        }
        return invalid == 0 ? value : nil
    }
}

private let hexAlphabet = Array("0123456789abcdef".utf8)

func hexDigits(_ value: UInt64) -> String {
    String(unsafeUninitializedCapacity: 16) { buffer in
        for index in 0..<16 {
            buffer[index] = hexAlphabet[Int((value >> (60 - 4 * UInt64(index))) & 0xf)]
        }
        return 16
    }
}
