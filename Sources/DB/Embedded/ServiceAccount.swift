import Base
import Foundation
import SystemPackage

/// The unprivileged user the embedded cluster runs as when volumed runs as root
/// (`initdb` refuses root): `postgres` if it exists, else `nobody`.
struct ServiceAccount: Equatable {
    let name: String
    let uid: uid_t
    let gid: gid_t

    /// nil when not running as root: the cluster then runs as the current user.
    static func forCurrentProcess() throws(DatabaseError) -> ServiceAccount? {
        guard geteuid() == 0 else { return nil }
        for name in ["postgres", "nobody"] {
            if let account = lookUp(name) { return account }
        }
        throw DatabaseError(
            code: "db.embedded",
            message: "running as root, but neither a \"postgres\" nor a \"nobody\" user exists to run PostgreSQL as"
        )
    }

    private static func lookUp(_ name: String) -> ServiceAccount? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return ServiceAccount(name: name, uid: entry.pw_uid, gid: entry.pw_gid)
    }

    /// `arguments` prefixed to run as this account, with no supplementary groups.
    func command(_ arguments: [String]) -> [String] {
        ChildProcess.asUser(uid, group: gid, arguments)
    }

    /// Whether this account may enter `directory` (the execute bit that applies to it).
    func canTraverse(_ info: Stat) -> Bool {
        if info.userID.rawValue == uid { return info.permissions.contains(.ownerExecute) }
        if info.groupID.rawValue == gid { return info.permissions.contains(.groupExecute) }
        return info.permissions.contains(.otherExecute)
    }
}
