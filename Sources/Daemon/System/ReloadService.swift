import Config
import Logging
import ServiceLifecycle
import UnixSignals

/// SIGHUP: reread the configuration. New `[estimate]` settings take effect at once and backfill
/// the checkpoints already seen (only the missing rows are computed); other sections need a
/// restart, which is logged.
struct ReloadService: Service {
    let configPath: String?
    /// The command line's settings, laid over the file as at start-up.
    let overrides: @Sendable (inout Config) -> Void
    let state: DaemonState
    let notifier: SDNotify
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            try? notifier.reloading()
            do {
                var fresh = try Config.load(path: configPath)
                overrides(&fresh)
                let current = await state.config
                var applied = current
                applied.estimate = fresh.estimate
                for (section, changed) in [("watch", fresh.watch != current.watch), ("database", fresh.database != current.database),
                                           ("workers", fresh.workers != current.workers), ("daemon", fresh.daemon != current.daemon),
                                           ("http", fresh.http != current.http)] where changed {
                    logger.warning("[\(section)] changed; it takes effect at the next restart")
                }
                await state.replace(applied)
                logger.info("configuration reloaded", metadata: ["estimate": "\(fresh.estimate.settings.cutoffs) \(fresh.estimate.preconditioners.map(\.description))"])
            } catch {
                logger.error("reload failed; keeping the previous configuration", metadata: ["error": "\(error)"])
            }
            try? notifier.ready()
        }
    }
}
