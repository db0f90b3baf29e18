/// The followed files by path and by their place in the reading order, so that a wake-up reads only the files it
/// concerns without going through every file followed: with 2,000 idle files and thousands of wake-ups a second,
/// that went through them (hashing two paths each) cost more than the reading.
struct FileLookup {
    /// Each file's place in `Tailer.files`; a file not here is no longer followed.
    private let places: [ObjectIdentifier: Int]
    /// Files by the path they were matched under and by the path it leads to (inotify names the latter).
    private let byPath: [String: [FollowedFile]]
    /// Files not claimed yet or detached: every look reads them.
    private var attention: [FollowedFile]

    init(_ files: [FollowedFile]) {
        var places: [ObjectIdentifier: Int] = [:]
        var byPath: [String: [FollowedFile]] = [:]
        for (place, file) in files.enumerated() {
            places[ObjectIdentifier(file)] = place
            byPath[file.path, default: []].append(file)
            if file.realPath != file.path { byPath[file.realPath, default: []].append(file) }
        }
        self.places = places
        self.byPath = byPath
        attention = files.filter { !$0.claimed || $0.detached }
    }

    /// The files a look at what changed reads, in reading order: those written to, those that had data in the
    /// last pass, and those not claimed yet or detached.
    mutating func changed(written: Set<String>, busy: [FollowedFile]) -> [FollowedFile] {
        attention.removeAll { $0.claimed && !$0.detached }
        var chosen: [Int: FollowedFile] = [:]
        for file in attention + busy + written.flatMap({ byPath[$0] ?? [] }) {
            if let place = places[ObjectIdentifier(file)] { chosen[place] = file }
        }
        return chosen.sorted { $0.key < $1.key }.map(\.value)
    }
}
