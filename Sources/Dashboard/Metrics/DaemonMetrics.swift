import DB
import Prometheus

/// The daemon's Prometheus metrics: one registry per daemon runtime, passed explicitly (no
/// global metrics system), so every in-process test has its own. Counters and the histogram
/// move as the daemon works; the queue and stored-estimate gauges are read from the database
/// when `/metrics` is scraped (`refresh`), so they count every daemon sharing the database.
///
/// Created whether or not `[http]` is on (it is cheap); only the dashboard exposes it.
public final class DaemonMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    /// Estimate times span a tiny model's fraction of a second to a large model's hours.
    public static let estimateSecondsBuckets: [Double] = [
        0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 43200,
    ]

    private let jobsCompleted: Counter
    private let estimatesComputed: Counter
    private let estimateSeconds: ValueHistogram
    private let klEvaluations: Counter
    private let watcherRescans: Counter
    private let databaseReconnects: Counter
    private let jobs: [JobState: Gauge]
    private let storedComputed: Gauge
    private let storedSkipped: Gauge

    public init(version: String) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        func name(_ metric: String, unit: String = "", _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "volumed", metricName: metric, unitName: unit, helpText: help)
        }
        registry.makeGauge(descriptor: name("build", unit: "info", "The running volumed's version (always 1)."),
                           labels: [("version", version)]).set(to: 1)
        let jobsName = name("jobs", "Jobs in the database per state (every daemon sharing it), read at scrape.")
        jobs = Dictionary(uniqueKeysWithValues: JobState.allCases.map {
            ($0, registry.makeGauge(descriptor: jobsName, labels: [("state", $0.rawValue)]))
        })
        let storedName = name("estimates_stored", "Estimate rows in the database, computed or skipped, read at scrape.")
        storedComputed = registry.makeGauge(descriptor: storedName, labels: [("outcome", "computed")])
        storedSkipped = registry.makeGauge(descriptor: storedName, labels: [("outcome", "skipped")])
        jobsCompleted = registry.makeCounter(descriptor: name("jobs_completed", unit: "total", "Jobs this process completed."))
        estimatesComputed = registry.makeCounter(
            descriptor: name("estimates_computed", unit: "total", "Estimates (one per preconditioner and cutoff) this process computed."))
        estimateSeconds = registry.makeValueHistogram(
            descriptor: name("estimate_seconds", "Seconds per computed estimate (one preconditioner and cutoff)."),
            buckets: Self.estimateSecondsBuckets)
        klEvaluations = registry.makeCounter(
            descriptor: name("kl_evaluations", unit: "total", "KL divergence evaluations of the estimates this process computed."))
        watcherRescans = registry.makeCounter(
            descriptor: name("watcher_rescans", unit: "total", "Full rescans of the watched folder after start-up (overflow, periodic, requested)."))
        databaseReconnects = registry.makeCounter(
            descriptor: name("database_reconnects", unit: "total", "Database sessions re-established after a lost connection."))
    }

    // MARK: Recording

    /// A job completed with these computed estimates; `klEvaluations` counts each ray search once.
    public func jobCompleted(estimateSeconds seconds: [Double], klEvaluations evaluations: Int64) {
        jobsCompleted.increment()
        estimatesComputed.increment(by: Int64(seconds.count))
        for value in seconds { estimateSeconds.record(value) }
        klEvaluations.increment(by: evaluations)
    }

    /// A job attempt failed with this error code (`volumed_job_failures_total{code}`).
    public func jobFailed(code: String) {
        registry.makeCounter(descriptor: Self.failuresName, labels: [("code", code)]).increment()
    }

    /// The watcher reported an event (`settled`, `scan`).
    public func watcherEvent(kind: String) {
        registry.makeCounter(descriptor: Self.watcherEventsName, labels: [("kind", kind)]).increment()
    }

    public func watcherRescanned() {
        watcherRescans.increment()
    }

    public func databaseReconnected() {
        databaseReconnects.increment()
    }

    /// The database-backed gauges, set just before each scrape.
    public func refresh(queue: QueueCounts, estimates: EstimateCounts) {
        for (state, gauge) in jobs {
            let count = switch state {
            case .queued: queue.queued
            case .running: queue.running
            case .done: queue.done
            case .failed: queue.failed
            }
            gauge.set(to: Double(count))
        }
        storedComputed.set(to: Double(estimates.computed))
        storedSkipped.set(to: Double(estimates.skipped))
    }

    /// The Prometheus text format (version 0.0.4).
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }

    private static var failuresName: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "volumed", metricName: "job_failures", unitName: "total",
                             helpText: "Failed job attempts in this process, by error code.")
    }

    private static var watcherEventsName: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "volumed", metricName: "watcher_events", unitName: "total",
                             helpText: "Events the watcher reported, by kind: settled (a checkpoint to schedule) or scan (a full scan finished).")
    }
}
