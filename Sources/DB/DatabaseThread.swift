import Foundation

/// A serial executor backed by one dedicated OS thread.
///
/// libpq calls block (network round trips, `poll` while waiting for notifications), and
/// `initdb`/`pg_ctl` take seconds. Actors that make such calls (`Connection`,
/// `EmbeddedPostgres`) use one of these as their executor, so the blocking happens on this
/// thread and never on Swift's cooperative pool. The thread exits once the executor is
/// released (after the actor that owns it is gone).
final class DatabaseThread: SerialExecutor, @unchecked Sendable {
    // @unchecked: all mutable state lives in `Queue`, guarded by its condition lock.

    private let queue: Queue
    private var threadID = pthread_t()
    private let threadIDReady = NSCondition()
    private var threadIDSet = false

    init(name: String) {
        queue = Queue()
        let queue = queue
        let thread = Thread { [unowned(unsafe) self] in
            self.publishThreadID()
            // From here on the thread only touches `queue`; `self` may go away.
            queue.runUntilStopped()
        }
        thread.name = name
        thread.start()
        queue.setExecutor(UnownedSerialExecutor(ordinary: self))
        threadIDReady.lock()
        while !threadIDSet { threadIDReady.wait() }
        threadIDReady.unlock()
    }

    deinit {
        queue.stop()
    }

    private func publishThreadID() {
        threadIDReady.lock()
        threadID = pthread_self()
        threadIDSet = true
        threadIDReady.broadcast()
        threadIDReady.unlock()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        queue.push(UnownedJob(job))
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Lets `assumeIsolated` and runtime isolation checks recognise this thread.
    func checkIsolated() {
        precondition(isCurrent, "not on the database thread")
    }

    /// True when called on this executor's thread.
    var isCurrent: Bool {
        pthread_equal(pthread_self(), threadID) != 0
    }

    /// The job list shared with the thread.
    private final class Queue: @unchecked Sendable {
        private let condition = NSCondition()
        private var jobs: [UnownedJob] = []
        private var head = 0
        private var stopped = false
        private var executor: UnownedSerialExecutor?

        func setExecutor(_ executor: UnownedSerialExecutor) {
            condition.lock()
            self.executor = executor
            condition.broadcast()
            condition.unlock()
        }

        func push(_ job: UnownedJob) {
            condition.lock()
            jobs.append(job)
            condition.signal()
            condition.unlock()
        }

        func stop() {
            condition.lock()
            stopped = true
            condition.broadcast()
            condition.unlock()
        }

        func runUntilStopped() {
            while let (job, executor) = next() {
                // Jobs keep their actor, and so the executor, alive while they run.
                job.runSynchronously(on: executor)
            }
        }

        private func next() -> (UnownedJob, UnownedSerialExecutor)? {
            condition.lock()
            defer { condition.unlock() }
            while true {
                if let executor, head < jobs.count {
                    let job = jobs[head]
                    head += 1
                    if head > 64, head * 2 > jobs.count {
                        jobs.removeFirst(head)
                        head = 0
                    }
                    return (job, executor)
                }
                if stopped { return nil }
                condition.wait()
            }
        }
    }
}
