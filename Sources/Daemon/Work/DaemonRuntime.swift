import Config
import Dashboard
import DB
import Estimator
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// The running daemon: the database (migrated), and the service graph — watchdog, watcher,
/// scheduler, workers, status, reload and (with `[http] listen`) the dashboard — under
/// swift-service-lifecycle. SIGTERM/SIGINT shut
/// it down gracefully (services stop in reverse order: status sends STOPPING=1, workers stop
/// claiming and return their leases, the scheduler and watcher stop); then the database closes.
struct DaemonRuntime {
    var config: Config
    var configPath: String?
    var location: DatabaseLocation
    /// Only claim and compute jobs (extra instances sharing a database: `volumed@.service`).
    var workersOnly = false
    /// What the command line sets over the configuration file (`--watch`): applied again to
    /// the file reread on SIGHUP, so a reload does not see those settings as changed.
    var overrides: @Sendable (inout Config) -> Void = { _ in }
    var notifier = SDNotify(environment: ProcessInfo.processInfo.environment)
    var logger = Logger(label: "volumed")
    /// Extra services started after the daemon's own (the demo's feeder and printer).
    var extraServices: @Sendable (Database) -> [any Service] = { _ in [] }
    /// This runtime's metrics (one registry per runtime; exposed by the dashboard's `/metrics`).
    var metrics = DaemonMetrics(version: VolumedVersion.current)

    /// `--http` was given: the dashboard runs even with `workersOnly`.
    var httpFromCommandLine = false

    /// Where the dashboard listens: `[http] listen`, except that `--workers-only` instances
    /// (which share the main instance's configuration file, so would all ask for its port)
    /// serve none unless `--http` names an address for them; nil: no dashboard.
    var dashboardAddress: ListenAddress? {
        workersOnly && !httpFromCommandLine ? nil : config.http.listen
    }

    /// Runs until SIGTERM/SIGINT.
    func run() async throws {
        // Each job's loading buffers and estimate buffers go back to the system when freed.
        AllocatorPolicy.returnLargeBlocksToSystem()
        logger.info("starting", metadata: ["database": "\(location)", "watch": "\(workersOnly ? "-" : config.watch.root)"])
        // Until the service group takes the signals over, a SIGTERM/SIGINT during start-up
        // (initdb, starting PostgreSQL, migrations) ends the start-up cleanly instead of killing
        // the process and leaving the cluster running.
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let stop = StopFlag()
        let listener = Task {
            for await _ in signals { stop.set(.shutdown) }
        }
        defer { listener.cancel() }

        let database: Database
        do {
            let metrics = metrics
            database = try await Database.open(location, connectionOptions: ConnectionOptions(onReconnect: {
                metrics.databaseReconnected()
            }))
        } catch {
            if stop.isSet { return logger.info("stopped during start-up") }
            throw error
        }
        do {
            if !stop.isSet {
                let connection = try await database.connect()
                let applied = try await Migrator().migrate(connection)
                if !applied.isEmpty { logger.info("applied \(applied.count) migration(s)") }
                await connection.close()
            }
            if !stop.isSet { try await runServices(database) }
        } catch {
            try? await database.close()
            throw error
        }
        try await database.close()
        logger.info("stopped")
    }

    private func runServices(_ database: Database) async throws {
        let state = DaemonState(config: config)
        var services: [any Service] = [WatchdogService(notifier: notifier, logger: logger)]
        // Bound here, before any service starts: a taken port stops the daemon at once.
        let dashboard = try dashboardAddress.map { address in
            try DashboardService(
                host: address.host, port: address.port, ipv6: address.family == .ipv6, metrics: metrics, logger: logger,
                connect: { options in try await database.connect(options: options) })
        }
        if !workersOnly {
            let watcher = Watcher(config: config.watch, logger: logger)
            services.append(watcher)
            services.append(Scheduler(events: watcher.events, database: database, state: state, notifier: notifier,
                                      metrics: metrics, logger: logger))
        } else {
            try? notifier.ready()
        }
        let cache = EstimationCache()
        for index in 0..<config.workers.count {
            services.append(EstimateWorker(index: index, database: database, state: state, metrics: metrics, logger: logger,
                                           cache: cache))
        }
        services.append(StatusReporter(database: database, state: state, notifier: notifier, logger: logger))
        services.append(ReloadService(configPath: configPath, overrides: overrides, state: state, notifier: notifier, logger: logger))
        // Last, so that it is the first to stop: its event streams end as shutdown begins.
        if let dashboard { services.append(dashboard) }
        services += extraServices(database)
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }
}
