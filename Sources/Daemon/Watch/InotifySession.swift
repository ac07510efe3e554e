import Base
import CInotifyTools
import Glibc
import SystemPackage

/// One inotify event, copied out of libinotifytools' static buffer.
struct InotifyEvent: Sendable, Equatable {
    var watch: Int32
    var mask: InotifyMask
    var name: String
}

struct InotifyMask: OptionSet, Sendable, Hashable {
    let rawValue: UInt32

    static let modify = InotifyMask(rawValue: UInt32(IN_MODIFY))
    static let attrib = InotifyMask(rawValue: UInt32(IN_ATTRIB))
    static let closeWrite = InotifyMask(rawValue: UInt32(IN_CLOSE_WRITE))
    static let movedFrom = InotifyMask(rawValue: UInt32(IN_MOVED_FROM))
    static let movedTo = InotifyMask(rawValue: UInt32(IN_MOVED_TO))
    static let create = InotifyMask(rawValue: UInt32(IN_CREATE))
    static let delete = InotifyMask(rawValue: UInt32(IN_DELETE))
    static let deleteSelf = InotifyMask(rawValue: UInt32(IN_DELETE_SELF))
    static let moveSelf = InotifyMask(rawValue: UInt32(IN_MOVE_SELF))
    static let queueOverflow = InotifyMask(rawValue: UInt32(IN_Q_OVERFLOW))
    static let ignored = InotifyMask(rawValue: UInt32(IN_IGNORED))
    static let onlyDirectory = InotifyMask(rawValue: UInt32(IN_ONLYDIR))
    static let isDirectory = InotifyMask(rawValue: UInt32(IN_ISDIR))
}

/// libinotifytools' process-global inotify instance, owned for the lifetime of this object.
///
/// The library keeps its state (descriptor, watch trees, event buffer) in globals without
/// locks, so at most one session may exist per process and it must only be used from one
/// thread: the watcher's. `Watcher` enforces both.
///
/// Events are read with the library (`inotifytools_next_event`). Watches are added and removed
/// on its descriptor directly, because the library's own watch bookkeeping cannot serve a
/// long-running daemon: a folder deleted while watched leaves its entry behind (removing it
/// makes the library print to stderr), and watching a folder re-created under the same path
/// then reports the dead watch's descriptor (`inotifytools_wd_from_filename`). Training output
/// folders are deleted and re-created all the time.
final class InotifySession {
    private let descriptor: Int32

    init() throws(WatcherError) {
        let before = Self.inotifyDescriptors()
        guard inotifytools_initialize() != 0 else {
            throw WatcherError(reason: .initialize(Errno(rawValue: Int32(inotifytools_error()))))
        }
        let created = Self.inotifyDescriptors().subtracting(before)
        guard created.count == 1, let descriptor = created.first else {
            inotifytools_cleanup()
            throw WatcherError(reason: .descriptorNotFound)
        }
        // The library opens it without O_CLOEXEC; child processes (the embedded PostgreSQL) must
        // not keep our watches alive.
        _ = fcntl(descriptor, F_SETFD, fcntl(descriptor, F_GETFD) | FD_CLOEXEC)
        self.descriptor = descriptor
    }

    deinit {
        inotifytools_cleanup()
    }

    /// Adds a watch and returns its descriptor. Watching a folder that is already watched
    /// (e.g. through a symbolic link) returns the existing descriptor.
    func watch(_ path: String, mask: InotifyMask) throws(Errno) -> Int32 {
        let watch = inotify_add_watch(descriptor, path, mask.rawValue)
        guard watch >= 0 else { throw .current }
        return watch
    }

    /// Removes a watch. For a folder that was deleted the kernel has already removed it; the
    /// resulting EINVAL means exactly that and is ignored. (Watch descriptors are allocated
    /// cyclically, so a just-freed number does not name a new watch.)
    func removeWatch(_ watch: Int32) {
        _ = inotify_rm_watch(descriptor, watch)
    }

    /// The next event, or nil when none came within `timeoutSeconds` (whole seconds, at least 1:
    /// the library treats 0 as "block forever").
    func nextEvent(timeoutSeconds: Int) throws(Errno) -> InotifyEvent? {
        guard let event = inotifytools_next_event(max(1, timeoutSeconds)) else {
            let error = inotifytools_error()
            if error == 0 || error == EINTR { return nil }
            throw Errno(rawValue: Int32(error))
        }
        return InotifyEvent(
            watch: event.pointee.wd,
            mask: InotifyMask(rawValue: event.pointee.mask),
            name: String(cString: volumed_inotify_event_name(event)))
    }

    /// This process's open inotify descriptors, from /proc/self/fd.
    private static func inotifyDescriptors() -> Set<Int32> {
        guard let names = try? Directory.entries("/proc/self/fd") else { return [] }
        var descriptors = Set<Int32>()
        var target = [CChar](repeating: 0, count: 64)
        for name in names {
            guard let descriptor = Int32(name) else { continue }
            let length = readlink("/proc/self/fd/" + name, &target, target.count - 1)
            guard length > 0 else { continue }
            let link = target.prefix(length).withUnsafeBufferPointer { buffer in
                String(decoding: UnsafeRawBufferPointer(buffer), as: UTF8.self)
            }
            if link == "anon_inode:inotify" { descriptors.insert(descriptor) }
        }
        return descriptors
    }
}
