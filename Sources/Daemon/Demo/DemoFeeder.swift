import Foundation
import Logging
import ServiceLifecycle

/// Drops the shipped example runs into the demo's watch folder, one checkpoint at a time and
/// the way the HF Trainer writes them (into `tmp-checkpoint-N`, then renamed), so the daemon
/// sees them arrive.
struct DemoFeeder: Service {
    let examples: String
    let watchRoot: String
    let interval: Duration
    let logger: Logger

    func run() async throws {
        let fm = FileManager.default
        let runs = try fm.contentsOfDirectory(atPath: examples).sorted().filter { isDirectory(examples + "/" + $0) }
        for run in runs {
            let source = examples + "/" + run, target = watchRoot + "/" + run
            try fm.createDirectory(atPath: target, withIntermediateDirectories: true)
            let entries = try fm.contentsOfDirectory(atPath: source)
            // The run's manifest and eval data first, then its checkpoints in step order.
            for name in entries.sorted() where !isDirectory(source + "/" + name) {
                try copy(source + "/" + name, to: target + "/" + name)
            }
            let checkpoints = entries.compactMap { name -> (Int, String)? in
                guard name.hasPrefix("checkpoint-"), let step = Int(name.dropFirst("checkpoint-".count)) else { return nil }
                return (step, name)
            }.sorted { $0.0 < $1.0 }
            for (_, name) in checkpoints {
                guard !Task.isShuttingDownGracefully else { return }
                let staging = target + "/tmp-" + name
                try? fm.removeItem(atPath: staging)
                try fm.copyItem(atPath: source + "/" + name, toPath: staging)
                try? fm.removeItem(atPath: target + "/" + name)
                try fm.moveItem(atPath: staging, toPath: target + "/" + name)
                print("→ dropped \(run)/\(name)")
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            }
        }
        print("→ all example checkpoints dropped; add your own runs to \(watchRoot) (Ctrl-C to stop)")
        try? await gracefulShutdown()
    }

    private func isDirectory(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
    }

    private func copy(_ source: String, to target: String) throws {
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: source, toPath: target)
    }
}
