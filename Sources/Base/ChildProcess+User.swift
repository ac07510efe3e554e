extension ChildProcess {
    /// `arguments` (the program's path first) prefixed to run as user `userID` and group
    /// `groupID` with no supplementary groups, through `setpriv`: how a root process starts
    /// PostgreSQL (which refuses root) and how tests run volumed as an unprivileged user.
    public static func asUser(_ userID: UInt32, group groupID: UInt32, _ arguments: [String]) -> [String] {
        ["/usr/bin/setpriv", "--reuid=\(userID)", "--regid=\(groupID)", "--clear-groups", "--"] + arguments
    }
}
