import Logging
import Synchronization

@testable import Daemon

/// Collects the lines a `VolumedLogHandler` writes, for tests that check what gets logged.
final class LogCapture: Sendable {
    private let storage = Mutex<[String]>([])

    var lines: [String] { storage.withLock { $0 } }

    func logger(label: String = "test", level: Logger.Level = .debug) -> Logger {
        Logger(label: label) { label in
            VolumedLogHandler(label: label, style: .journal, logLevel: level) { [self] line in
                self.storage.withLock { $0.append(line) }
            }
        }
    }

    func warnings(containing fragment: String) -> [String] {
        lines.filter { $0.hasPrefix("<4>") && $0.contains(fragment) }
    }
}
