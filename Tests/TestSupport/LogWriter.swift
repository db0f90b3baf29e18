import Foundation
import TraceTailCore

/// Appends numbered lines to files the way applications write logs (O_APPEND), and rotates them.
public final class LogWriter: @unchecked Sendable {
    // @unchecked: used from one task at a time.
    public let directory: String
    private var descriptors: [String: Int32] = [:]
    public private(set) var written: [String] = []

    public init(directory: String) {
        self.directory = directory
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit { closeAll() }

    public func path(_ name: String) -> String { directory + "/" + name }

    private func descriptor(_ name: String) -> Int32 {
        if let descriptor = descriptors[name] { return descriptor }
        let descriptor = open(path(name), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        precondition(descriptor >= 0, "cannot open \(path(name))")
        descriptors[name] = descriptor
        return descriptor
    }

    /// Appends raw bytes (no newline added).
    public func append(_ text: String, to name: String) {
        var bytes = Array(text.utf8)
        let descriptor = descriptor(name)
        while !bytes.isEmpty {
            let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            precondition(count > 0, "cannot write \(name)")
            bytes.removeFirst(count)
        }
    }

    /// Appends lines `<name>#<number>` (and remembers them as written).
    public func lines(_ numbers: Range<Int>, to name: String, padding: Int = 0) {
        var text = ""
        for number in numbers {
            let line = "\(name)#\(number)" + String(repeating: "x", count: padding)
            written.append(line)
            text += line + "\n"
        }
        append(text, to: name)
    }

    /// Closes the writer's handle of a file (the next write reopens it by name).
    public func reopen(_ name: String) {
        if let descriptor = descriptors.removeValue(forKey: name) { close(descriptor) }
    }

    /// Rename rotation: the file moves to `rotated` and the next write creates a new one.
    public func rotate(_ name: String, to rotated: String) {
        reopen(name)
        precondition(rename(path(name), path(rotated)) == 0, "cannot rename \(name)")
    }

    /// Copy-truncate rotation: the content is copied to `copy`, then the file is truncated in place.
    public func copyTruncate(_ name: String, to copy: String) {
        let data = FileManager.default.contents(atPath: path(name)) ?? Data()
        precondition(FileManager.default.createFile(atPath: path(copy), contents: data), "cannot copy \(name)")
        precondition(truncate(path(name), 0) == 0, "cannot truncate \(name)")
    }

    public func closeAll() {
        for descriptor in descriptors.values { close(descriptor) }
        descriptors.removeAll()
    }
}

/// What was delivered compared with what was written: lines missing and lines delivered more than once.
public struct DeliveryReport: CustomStringConvertible {
    public var missing: [String]
    public var duplicated: [String]
    public var unexpected: [String]

    public init(written: [String], delivered: [String]) {
        var counts: [String: Int] = [:]
        for line in delivered { counts[line, default: 0] += 1 }
        let writtenSet = Set(written)
        missing = written.filter { counts[$0] == nil }
        duplicated = counts.filter { $0.value > 1 }.map(\.key).sorted()
        unexpected = counts.keys.filter { !writtenSet.contains($0) }.sorted()
    }

    public var description: String {
        "missing \(missing.count) \(missing.prefix(5)), duplicated \(duplicated.count) \(duplicated.prefix(5)), unexpected \(unexpected.count) \(unexpected.prefix(5))"
    }
}

/// How a container runtime writes an application's lines to its log file: the CRI format cut at 16 KiB
/// (containerd) or 8 KiB (CRI-O), or Docker's json-file cut at 16 KiB.
public enum ContainerRuntime: Sendable, CaseIterable {
    case containerd, crio, docker

    /// The longest piece of an application line the runtime writes, in bytes.
    public var pieceBytes: Int { self == .crio ? 8 << 10 : 16 << 10 }

    /// The lines (each ending in a newline) the runtime writes for one application line (ASCII) on `stream`.
    public func frame(_ line: String, stream: String = "stdout", time: String = "2026-01-02T03:04:05.123456789Z") -> [String] {
        let bytes = Array(line.utf8)
        let starts = Array(stride(from: 0, to: max(bytes.count, 1), by: pieceBytes))
        return starts.enumerated().map { index, start in
            let piece = String(decoding: bytes[start..<min(start + pieceBytes, bytes.count)], as: UTF8.self)
            let last = index == starts.count - 1
            switch self {
            case .containerd, .crio:
                return "\(time) \(stream) \(last ? "F" : "P") \(piece)\n"
            case .docker:
                var writer = JSONWriter()
                writer.object {
                    $0.string("log", last ? piece + "\n" : piece)
                    $0.string("stream", stream)
                    $0.string("time", time)
                }
                return writer.text + "\n"
            }
        }
    }
}
