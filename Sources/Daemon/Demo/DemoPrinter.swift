import DB
import Foundation
import Logging
import ServiceLifecycle

/// Prints each estimate as its row arrives (woken by the results NOTIFY, with a slow poll as
/// a fallback).
struct DemoPrinter: Service {
    let database: Database
    let logger: Logger

    func run() async throws {
        let connection = try await database.connect()
        try await connection.listen(JobQueue.notificationChannel)
        let store = ResultStore(connection: connection)
        var printed = Set<Int64>()
        var headerShown = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let recent = (try? await store.recentEstimates(limit: 100)) ?? []
            for e in recent.reversed() where printed.insert(e.estimateID).inserted {
                if !headerShown {
                    print(row(["run", "step", "cutoff", "preconditioner", "log10 volume"]))
                    headerShown = true
                }
                let name = e.preconditionerParams.isEmpty ? e.preconditioner : "\(e.preconditioner):\(e.preconditionerParams)"
                let value = e.skipped.map { "skipped: \($0)" } ?? e.log10Volume.map { format($0, 1) } ?? "∞"
                print(row([e.run, e.step.map(String.init) ?? "—", format(e.cutoff, 4), name, value]))
            }
            _ = try? await connection.nextNotification(timeout: .seconds(1))
        }
        await connection.close()
    }

    private func row(_ cells: [String]) -> String {
        zip(cells, [12, 6, 8, 30, 0]).map { $1 > 0 ? $0.padding(toLength: $1, withPad: " ", startingAt: 0) : $0 }.joined(separator: "  ")
    }
}
