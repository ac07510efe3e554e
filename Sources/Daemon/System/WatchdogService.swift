import Logging
import ServiceLifecycle

/// Sends WATCHDOG=1 every `SDNotify.watchdogInterval` (half of `WatchdogSec=`) until graceful
/// shutdown or cancellation. Without a watchdog it only waits for shutdown, so it can always be
/// part of the service group.
public struct WatchdogService: Service {
    let notifier: SDNotify
    let logger: Logger

    public init(notifier: SDNotify, logger: Logger) {
        self.notifier = notifier
        self.logger = logger
    }

    public func run() async throws {
        guard let interval = notifier.watchdogInterval else {
            try? await gracefulShutdown()
            return
        }
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                try notifier.watchdog()
            } catch {
                logger.warning("cannot send the watchdog keep-alive", metadata: ["reason": "\(error)"])
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }
}
