import Base
import Glibc
import SystemPackage

/// Why the watcher could not run. Problems with what is under the watch root are not errors:
/// they are logged (`ScanProblem`) and the watcher keeps serving.
public struct WatcherError: CodedError, Equatable {
    public enum Reason: Sendable, Equatable {
        /// `inotify_init` failed, e.g. EMFILE when `fs.inotify.max_user_instances` is reached.
        case initialize(Errno)
        /// The library's inotify descriptor could not be identified in /proc/self/fd.
        case descriptorNotFound
        /// Reading events failed.
        case read(Errno)
        /// Another watcher runs in this process (libinotifytools state is process-global).
        case alreadyRunning
        /// `run()` was called a second time on the same watcher.
        case alreadyRan
    }

    public var reason: Reason

    public init(reason: Reason) {
        self.reason = reason
    }

    public var code: String {
        switch reason {
        case .initialize, .descriptorNotFound: "watch.inotify_init"
        case .read: "watch.inotify_read"
        case .alreadyRunning: "watch.already_running"
        case .alreadyRan: "watch.already_ran"
        }
    }

    public var description: String {
        switch reason {
        case .initialize(let errno):
            "cannot start inotify: \(errno)"
                + (errno.rawValue == EMFILE ? " (raise fs.inotify.max_user_instances)" : "")
        case .descriptorNotFound:
            "cannot find libinotifytools' inotify descriptor in /proc/self/fd (is /proc mounted?)"
        case .read(let errno):
            "cannot read inotify events: \(errno)"
        case .alreadyRunning:
            "another watcher is already running in this process; libinotifytools allows one per process"
        case .alreadyRan:
            "this watcher has already run; create a new one"
        }
    }
}
