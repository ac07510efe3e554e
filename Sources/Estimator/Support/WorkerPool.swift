#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Runs `count` independent work items on `threads` dedicated OS threads (never the Swift
/// cooperative pool: this is long, blocking numerical work). Items are handed out dynamically;
/// callers write results into per-item slots, so the outcome does not depend on scheduling.
public enum WorkerPool {
    /// Calls `body(worker, item)` for every item in `0..<count`; `worker` is in `0..<threads`
    /// and identifies per-thread scratch state. Returns when all items are done.
    public static func run(threads: Int, count: Int, _ body: @Sendable (_ worker: Int, _ item: Int) -> Void) {
        let workers = max(1, min(threads, count))
        if workers <= 1 {
            for item in 0..<count { body(0, item) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let job = Job(body: body, count: count)
            var threads: [pthread_t] = []
            for worker in 1..<workers {
                let context = Unmanaged.passRetained(Context(job: job, worker: worker)).toOpaque()
                var thread = pthread_t()
                let started = pthread_create(&thread, nil, { raw in
                    let context = Unmanaged<Context>.fromOpaque(raw!).takeRetainedValue()
                    context.job.drain(worker: context.worker)
                    return nil
                }, context)
                if started == 0 {
                    threads.append(thread)
                } else {
                    // No thread: reclaim its context; the others take its share.
                    Unmanaged<Context>.fromOpaque(context).release()
                }
            }
            job.drain(worker: 0)
            for thread in threads { pthread_join(thread, nil) }
        }
    }

    /// The number of online CPU cores.
    public static var coreCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}

private final class Job: Sendable {
    let body: @Sendable (Int, Int) -> Void
    let next = Atomic<Int>(0)
    let count: Int

    init(body: @escaping @Sendable (Int, Int) -> Void, count: Int) {
        self.body = body
        self.count = count
    }

    func drain(worker: Int) {
        while true {
            let item = next.wrappingAdd(1, ordering: .relaxed).oldValue
            if item >= count { return }
            body(worker, item)
        }
    }
}

private final class Context {
    let job: Job
    let worker: Int
    init(job: Job, worker: Int) {
        self.job = job
        self.worker = worker
    }
}
