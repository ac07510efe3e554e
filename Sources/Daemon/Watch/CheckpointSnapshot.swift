import Hashing

/// A cheap picture of a checkpoint's content files — names, sizes, modification times and
/// inodes, read with `stat` only — used to notice that a checkpoint changed or stopped changing.
/// It is not a content fingerprint: equal snapshots mean "nothing visibly changed".
public struct CheckpointSnapshot: Hashable, Sendable {
    public struct File: Hashable, Sendable {
        public var name: String
        public var size: Int64
        public var modifiedSeconds: Int64
        public var modifiedNanoseconds: Int64
        /// A file replaced by an atomic rename has a new inode even when size and time match.
        public var inode: UInt64

        public init(name: String, size: Int64, modifiedSeconds: Int64, modifiedNanoseconds: Int64, inode: UInt64) {
            self.name = name
            self.size = size
            self.modifiedSeconds = modifiedSeconds
            self.modifiedNanoseconds = modifiedNanoseconds
            self.inode = inode
        }
    }

    /// Content files sorted by name.
    public var files: [File]

    public init(files: [File]) {
        self.files = files.sorted { $0.name < $1.name }
    }

    public var totalBytes: Int64 { files.reduce(0) { $0 + $1.size } }

    public func contains(_ name: String) -> Bool {
        files.contains { $0.name == name }
    }

    /// The identity of a version whose content could not be read (so it has no content
    /// fingerprint): its files' names, sizes and modification times, so that a rewrite is a new
    /// version.
    public var unreadableFingerprint: String {
        var hasher = SHA256()
        for file in files {
            hasher.update(Array("\(file.name)\0\(file.size)\0\(file.modifiedSeconds).\(file.modifiedNanoseconds)\0".utf8))
        }
        return Self.unreadablePrefix + hasher.hexDigest()
    }

    public static func isUnreadableFingerprint(_ fingerprint: String) -> Bool {
        fingerprint.hasPrefix(unreadablePrefix)
    }

    private static let unreadablePrefix = "unreadable:"
}
