import CZlib
import NIOCore

/// gzip with the system zlib (level 1 by default: the HTTP outputs compress on the hot path).
public enum Gzip {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static func compress(_ input: [UInt8], level: Int32 = 1) throws(Failure) -> [UInt8] {
        Array(buffer: try compress(ByteBuffer(bytes: input), level: level))
    }

    /// Compresses a request body into a buffer of its own.
    public static func compress(_ input: ByteBuffer, level: Int32 = 1) throws(Failure) -> ByteBuffer {
        var stream = z_stream()
        guard deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                            Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Failure(description: "cannot start gzip")
        }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, UInt(input.readableBytes))) + 32
        var output = ByteBufferAllocator().buffer(capacity: bound)
        var result: Int32 = Z_OK
        _ = input.withUnsafeReadableBytes { source in
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { target in
                stream.next_in = UnsafeMutablePointer(mutating: source.bindMemory(to: UInt8.self).baseAddress)
                stream.avail_in = UInt32(source.count)
                stream.next_out = target.bindMemory(to: UInt8.self).baseAddress
                stream.avail_out = UInt32(target.count)
                result = deflate(&stream, Z_FINISH)
                return Int(stream.total_out)
            }
        }
        guard result == Z_STREAM_END else { throw Failure(description: "gzip failed (\(result))") }
        return output
    }

    /// Decompresses gzip or zlib (`deflate`) data, refusing to produce more than `limit` bytes.
    public static func decompress(_ input: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Failure(description: "cannot start gunzip")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var input = input
        var result: Int32 = Z_OK
        input.withUnsafeMutableBufferPointer { source in
            stream.next_in = source.baseAddress
            stream.avail_in = UInt32(source.count)
            while result == Z_OK {
                chunk.withUnsafeMutableBufferPointer { target in
                    stream.next_out = target.baseAddress
                    stream.avail_out = UInt32(target.count)
                    result = inflate(&stream, Z_NO_FLUSH)
                    output.append(contentsOf: target[0..<(target.count - Int(stream.avail_out))])
                }
                if output.count > limit { result = Z_BUF_ERROR; break }
                if result == Z_BUF_ERROR && stream.avail_in == 0 { break }
            }
        }
        guard result == Z_STREAM_END else {
            throw Failure(description: output.count > limit ? "decompressed body over \(limit) bytes" : "invalid compressed body")
        }
        return output
    }
}
