import Foundation

/// The operations of the file input's model-based chaos test (in the style of Vector's file-watcher model tests),
/// and the seeded generator of operation sequences. What each operation does, and what it allows the binary to
/// lose or repeat, is in `FileChaosRun`.
///
/// Files: the application writes two logs, `a.log` and `b.log` (slot 0 and 1), in a directory tailed with the
/// glob `*.log`. Rotated names: `a.<n>.log` (inside the glob) or `a.<n>.rotated` (outside); copies of a
/// copy-truncate: `a-<n>.copy.log` (inside) or `a.log.<n>` (outside).
public enum FileChaosOp: Sendable, Hashable, CustomStringConvertible {
    /// Appends `lines` new lines; with `partial`, the last one is written without its end (the rest of it comes
    /// with the next write to that file, or before anything else is done to the file).
    case append(file: Int, lines: Int, partial: Bool)
    /// Renames the file away (the application then writes a new one); the new name is inside the glob or not.
    case renameRotate(file: Int, intoGlob: Bool)
    /// Copies the file and truncates it in place. `emptyFirst`: the copy is created empty, left so for a moment
    /// (the binary sees it empty) and then filled in two steps. `linesBetween`: lines appended to the original after
    /// the copy was made and before the truncation. `settleFirst`: wait until the file's lines were delivered.
    case copyTruncate(file: Int, copyIntoGlob: Bool, emptyFirst: Bool, linesBetween: Int, settleFirst: Bool)
    /// Truncates the file to 0 in place; with `rewrite`, at once writes more bytes than it had (past the old
    /// offset).
    case truncate(file: Int, rewrite: Bool, settleFirst: Bool)
    /// Deletes the file (the application closes it); with `recreateLines` > 0, at once creates it again with
    /// that many lines (the inode may be reused).
    case delete(file: Int, recreateLines: Int, settleFirst: Bool)
    case sigkill
    case sigterm
    case start
    /// Damages the checkpoint file while the binary is stopped (nothing while it runs).
    case corruptCheckpoint(CheckpointDamage)
    /// A short pause, to create interleavings (never for correctness).
    case pause(milliseconds: Int)

    public enum CheckpointDamage: String, Sendable, Hashable, CaseIterable {
        /// Bytes that are not JSON.
        case garbage
        /// An empty file.
        case empty
        /// The first half of the file (or garbage when there is none yet).
        case cut
    }

    public static let slotNames = ["a", "b"]

    public var description: String {
        func name(_ file: Int) -> String { Self.slotNames[file] }
        switch self {
        case .append(let file, let lines, let partial): return "append(\(name(file)),\(lines)\(partial ? ",partial" : ""))"
        case .renameRotate(let file, let intoGlob): return "rename(\(name(file)),\(intoGlob ? "in" : "out"))"
        case .copyTruncate(let file, let intoGlob, let emptyFirst, let between, let settle):
            return "copytruncate(\(name(file)),\(intoGlob ? "in" : "out")\(emptyFirst ? ",emptyfirst" : ""),between=\(between)\(settle ? ",settle" : ""))"
        case .truncate(let file, let rewrite, let settle):
            return "truncate(\(name(file))\(rewrite ? ",rewrite" : "")\(settle ? ",settle" : ""))"
        case .delete(let file, let recreate, let settle):
            return "delete(\(name(file)),recreate=\(recreate)\(settle ? ",settle" : ""))"
        case .sigkill: return "sigkill"
        case .sigterm: return "sigterm"
        case .start: return "start"
        case .corruptCheckpoint(let damage): return "corrupt(\(damage.rawValue))"
        case .pause(let milliseconds): return "pause(\(milliseconds))"
        }
    }

    /// Reads back a `description` (to replay a printed, shrunk sequence); nil when it is not one.
    public init?(parsing text: Substring) {
        let text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        var head = text
        var arguments: [String] = []
        if let open = text.firstIndex(of: "("), text.hasSuffix(")") {
            head = String(text[..<open])
            let inside = text[text.index(after: open)..<text.index(before: text.endIndex)]
            arguments = inside.split(separator: ",").map(String.init)
        }
        func file(_ index: Int) -> Int? { arguments.indices.contains(index) ? Self.slotNames.firstIndex(of: arguments[index]) : nil }
        func value(_ key: String) -> Int? { arguments.first { $0.hasPrefix(key + "=") }.flatMap { Int($0.dropFirst(key.count + 1)) } }
        let flags = Set(arguments)
        switch head {
        case "append":
            guard let file = file(0), arguments.count >= 2, let lines = Int(arguments[1]) else { return nil }
            self = .append(file: file, lines: lines, partial: flags.contains("partial"))
        case "rename":
            guard let file = file(0) else { return nil }
            self = .renameRotate(file: file, intoGlob: flags.contains("in"))
        case "copytruncate":
            guard let file = file(0), let between = value("between") else { return nil }
            self = .copyTruncate(file: file, copyIntoGlob: flags.contains("in"), emptyFirst: flags.contains("emptyfirst"),
                                 linesBetween: between, settleFirst: flags.contains("settle"))
        case "truncate":
            guard let file = file(0) else { return nil }
            self = .truncate(file: file, rewrite: flags.contains("rewrite"), settleFirst: flags.contains("settle"))
        case "delete":
            guard let file = file(0), let recreate = value("recreate") else { return nil }
            self = .delete(file: file, recreateLines: recreate, settleFirst: flags.contains("settle"))
        case "sigkill": self = .sigkill
        case "sigterm": self = .sigterm
        case "start": self = .start
        case "corrupt":
            guard let damage = arguments.first.flatMap(CheckpointDamage.init(rawValue:)) else { return nil }
            self = .corruptCheckpoint(damage)
        case "pause":
            guard let milliseconds = arguments.first.flatMap({ Int($0) }) else { return nil }
            self = .pause(milliseconds: milliseconds)
        default:
            return nil
        }
    }

    /// A printed sequence (`op op op`, as `FileChaosOp.list` writes it) read back.
    public static func parseList(_ text: String) -> [FileChaosOp]? {
        var result: [FileChaosOp] = []
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == ";" }) where !word.isEmpty {
            guard let op = FileChaosOp(parsing: word) else { return nil }
            result.append(op)
        }
        return result
    }

    /// A sequence as one line that `parseList` reads back.
    public static func list(_ ops: [FileChaosOp]) -> String {
        ops.map(\.description).joined(separator: " ")
    }
}

/// Generates operation sequences from a seed: the same seed gives the same sequence. The generator follows
/// whether the binary runs (the binary starts running at the beginning of every sequence), so that stops and
/// starts alternate and checkpoint damage happens while the binary is stopped; the runner still copes with any
/// sequence (a shrunk one may start a running binary or stop a stopped one: those are no-ops).
public struct FileChaosGenerator: Sendable {
    public var operations: ClosedRange<Int>

    public init(operations: ClosedRange<Int> = 10...20) {
        self.operations = operations
    }

    public func sequence(seed: UInt64) -> [FileChaosOp] {
        var random = SeededRandom(seed: seed)
        var running = true
        var ops: [FileChaosOp] = []
        let count = random.between(operations)
        while ops.count < count {
            let file = random.chance(70) ? 0 : 1
            if !running && random.chance(45) {
                ops.append(.start)
                running = true
                continue
            }
            typealias Choice = (weight: Int, value: FileChaosOp)
            var choices: [Choice] = [
                (30, .append(file: file, lines: random.between(1...40), partial: random.chance(20))),
                (8, .append(file: file, lines: random.between(1000...4000), partial: random.chance(20))),
                (8, .renameRotate(file: file, intoGlob: random.chance(50))),
                (8, .copyTruncate(file: file, copyIntoGlob: random.chance(60), emptyFirst: random.chance(50),
                                  linesBetween: random.chance(30) ? random.between(1...20) : 0, settleFirst: random.chance(40))),
                (5, .truncate(file: file, rewrite: random.chance(50), settleFirst: random.chance(50))),
                (4, .delete(file: file, recreateLines: random.chance(50) ? random.between(1...30) : 0, settleFirst: random.chance(40))),
                (4, .pause(milliseconds: random.between(20...300))),
            ]
            if running {
                choices += [(8, .sigkill), (4, .sigterm)]
            } else {
                choices.append((6, .corruptCheckpoint(random.weighted(FileChaosOp.CheckpointDamage.allCases.map { (1, $0) }))))
            }
            let op = random.weighted(choices)
            switch op {
            case .sigkill, .sigterm: running = false
            default: break
            }
            ops.append(op)
        }
        return ops
    }
}
