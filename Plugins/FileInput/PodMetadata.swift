import TraceTailCore

/// A container's identity read from the path the kubelet gave its log, whatever the prefix:
///
/// - `…/<namespace>_<pod>_<uid>/<container>/<restart>.log` (`/var/log/pods`; also a rotated `<restart>.log.<time>`)
///   gives the namespace, pod name and uid, container name and restart count;
/// - `…/<pod>_<namespace>_<container>-<container id>.log` (`/var/log/containers`, symbolic links into the former)
///   gives the pod name, namespace, container name and container id.
enum PodMetadata {
    /// The resource attributes of a file found at `path` that leads to `realPath` (both layouts are read, so a
    /// symbolic link of `/var/log/containers` adds the uid and restart count of its target); nil when neither
    /// path is a kubelet log path.
    static func resource(path: String, realPath: String) -> Resource? {
        var attributes = Attributes()
        for path in [path, realPath] {
            for (key, value) in podsLayout(path) ?? containersLayout(path) ?? [] where attributes[key] == nil {
                attributes[key] = value
            }
        }
        return attributes.isEmpty ? nil : Resource(attributes)
    }

    /// `…/<namespace>_<pod>_<uid>/<container>/<restart>.log[.<suffix>]`.
    static func podsLayout(_ path: String) -> [(String, AttributeValue)]? {
        let components = path.split(separator: "/")
        guard components.count >= 3 else { return nil }
        let pod = components[components.count - 3].split(separator: "_", omittingEmptySubsequences: false)
        let file = components[components.count - 1].split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard pod.count == 3, !pod.contains(where: \.isEmpty), file.count >= 2, file[1] == "log",
              let restart = Int64(file[0]) else { return nil }
        return [
            ("k8s.namespace.name", .string(String(pod[0]))),
            ("k8s.pod.name", .string(String(pod[1]))),
            ("k8s.pod.uid", .string(String(pod[2]))),
            ("k8s.container.name", .string(String(components[components.count - 2]))),
            ("k8s.container.restart_count", .int(restart)),
        ]
    }

    /// `…/<pod>_<namespace>_<container>-<container id>.log`.
    static func containersLayout(_ path: String) -> [(String, AttributeValue)]? {
        guard let name = path.split(separator: "/").last, name.hasSuffix(".log") else { return nil }
        let parts = name.dropLast(4).split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty, let dash = parts[2].lastIndex(of: "-") else { return nil }
        let container = parts[2][..<dash]
        let id = parts[2][parts[2].index(after: dash)...]
        guard !container.isEmpty, !id.isEmpty, id.allSatisfy(\.isHexDigit) else { return nil }
        return [
            ("k8s.namespace.name", .string(String(parts[1]))),
            ("k8s.pod.name", .string(String(parts[0]))),
            ("k8s.container.name", .string(String(container))),
            ("container.id", .string(String(id))),
        ]
    }
}
