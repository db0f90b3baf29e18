#if canImport(Glibc)
import Glibc
#endif

/// Expands `include` globs to the regular files they match (`*`, `?`, `[…]` within a path segment; `**` for any
/// number of directories), following symbolic links to files and, once each, to directories.
struct Glob {
    let pattern: String

    /// The matching files, as matched (not resolved).
    func files() -> [String] {
        let absolute = pattern.hasPrefix("/")
        let segments = pattern.split(separator: "/").map(String.init)
        var results: [String] = []
        var visited = Set<String>()
        walk(absolute ? "" : ".", segments[...], into: &results, visited: &visited)
        return results.map { absolute || !$0.hasPrefix("./") ? $0 : String($0.dropFirst(2)) }
    }

    private static func hasWildcard(_ segment: String) -> Bool {
        segment.contains { $0 == "*" || $0 == "?" || $0 == "[" }
    }

    private func walk(_ directory: String, _ segments: ArraySlice<String>, into results: inout [String], visited: inout Set<String>) {
        guard let segment = segments.first else { return }
        let rest = segments.dropFirst()
        let join = { (name: String) in directory.isEmpty ? "/" + name : directory + "/" + name }
        if segment == "**" {
            walk(directory, rest, into: &results, visited: &visited)
            guard let identity = Self.directoryIdentity(directory.isEmpty ? "/" : directory),
                  visited.insert(identity).inserted else { return }
            for name in Self.entries(directory.isEmpty ? "/" : directory) where Self.isDirectory(join(name)) {
                walk(join(name), segments, into: &results, visited: &visited)
            }
            return
        }
        let names = Self.hasWildcard(segment)
            ? Self.entries(directory.isEmpty ? "/" : directory).filter { fnmatch(segment, $0, FNM_PERIOD) == 0 }
            : [segment]
        for name in names {
            let path = join(name)
            if rest.isEmpty {
                if Self.isRegularFile(path) { results.append(path) }
            } else if Self.isDirectory(path) {
                walk(path, rest, into: &results, visited: &visited)
            }
        }
    }

    static func entries(_ directory: String) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    static func directoryIdentity(_ path: String) -> String? {
        var info = stat()
        return stat(path, &info) == 0 ? "\(info.st_dev):\(info.st_ino)" : nil
    }

    /// Whether `path` matches an `exclude` pattern (`*` may cross `/` there, so `**/x` and `*.gz` both work).
    static func excludes(_ pattern: String, _ path: String) -> Bool {
        fnmatch(pattern, path, 0) == 0 || fnmatch(pattern, String(path.split(separator: "/").last ?? ""), 0) == 0
    }
}
