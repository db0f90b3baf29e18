import CPCRE2
import Synchronization

/// A regular expression with named groups, compiled once by PCRE2 with its JIT and matched against bytes.
public final class CompiledPattern: Sendable {
    /// Why a pattern does not compile, and where in it.
    public struct CompileError: Error, Sendable, CustomStringConvertible {
        public var message: String
        /// Byte offset into the pattern.
        public var offset: Int
        public var description: String { "\(message) at offset \(offset)" }
    }

    private final class Compiled: @unchecked Sendable {
        // @unchecked: `code` is immutable after compiling; `matchData` is used only under `lock`.
        let code: OpaquePointer
        let matchData: OpaquePointer

        init(code: OpaquePointer) {
            self.code = code
            matchData = pcre2_match_data_create_from_pattern_8(code, nil)
        }

        deinit {
            pcre2_match_data_free_8(matchData)
            pcre2_code_free_8(code)
        }
    }

    public let pattern: String
    /// The named groups with their numbers, in the order they appear in the pattern.
    public let groups: [(name: String, number: Int)]
    /// The group names as bytes, in the same order.
    private let groupNames: [[UInt8]]
    private let lock: Mutex<Compiled>

    public init(_ pattern: String) throws(CompileError) {
        var errorCode: Int32 = 0
        var errorOffset = 0
        let options = UInt32(PCRE2_UTF) | UInt32(PCRE2_MATCH_INVALID_UTF)
        let code = pattern.utf8CString.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: UInt8.self) {
                pcre2_compile_8($0.baseAddress, $0.count - 1, options, &errorCode, &errorOffset, nil)
            }
        }
        guard let code else {
            var message = [UInt8](repeating: 0, count: 256)
            let length = pcre2_get_error_message_8(errorCode, &message, message.count)
            throw CompileError(message: String(decoding: message.prefix(max(0, Int(length))), as: UTF8.self), offset: errorOffset)
        }
        pcre2_jit_compile_8(code, UInt32(PCRE2_JIT_COMPLETE)) // without JIT (unsupported CPU) PCRE2 interprets
        self.pattern = pattern
        groups = Self.namedGroups(code)
        groupNames = groups.map { Array($0.name.utf8) }
        lock = Mutex(Compiled(code: code))
    }

    private static func namedGroups(_ code: OpaquePointer) -> [(name: String, number: Int)] {
        var count: UInt32 = 0
        var entrySize: UInt32 = 0
        var table: UnsafePointer<UInt8>?
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMECOUNT), &count)
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMEENTRYSIZE), &entrySize)
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMETABLE), &table)
        guard let table else { return [] }
        return (0..<Int(count)).map { index in
            let entry = table + index * Int(entrySize)
            let number = Int(entry[0]) << 8 | Int(entry[1])
            return (String(cString: entry + 2), number)
        }.sorted { $0.number < $1.number }
    }

    /// Matches `subject`; calls `group` with the name of each named group that took part (as bytes) and the range
    /// it matched. Returns false when the pattern does not match.
    @discardableResult
    public func match(_ subject: UnsafeRawBufferPointer, _ group: (UnsafeRawBufferPointer, Range<Int>) -> Void) -> Bool {
        lock.withLock { compiled in
            let result = pcre2_match_8(compiled.code, subject.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                       subject.count, 0, 0, compiled.matchData, nil)
            guard result > 0 else { return false }
            let vector = pcre2_get_ovector_pointer_8(compiled.matchData)!
            for (index, (_, number)) in groups.enumerated() where number < Int(result) {
                let start = vector[2 * number]
                let end = vector[2 * number + 1]
                if start != unsetOffset {
                    groupNames[index].withUnsafeBytes { group($0, Int(start)..<Int(end)) }
                }
            }
            return true
        }
    }
}

/// `PCRE2_UNSET`, `~(PCRE2_SIZE)0`, which Swift does not import.
private let unsetOffset = Int(bitPattern: UInt.max)
