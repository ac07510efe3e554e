import Dashboard
import DB
import Foundation
import Testing

extension ServerTests {
    @Suite struct Events {
        @Test func streamsAnEstimateEventForEachNotification() async throws {
            try await TestDashboard.run { dashboard, _ in
                let (run, checkpoint) = try await dashboard.seedRun()
                let (other, otherCheckpoint) = try await dashboard.seedRun(name: "run-b")
                let all = try await openStream("/events", port: dashboard.port)
                let runStream = try await openStream("/runs/\(run.id)/events", port: dashboard.port)
                defer { all.close(); runStream.close() }
                try await dashboard.waitForListener()

                let notifier = try await dashboard.connect()
                try await notifier.notify(channel: JobQueue.notificationChannel, payload: "\(otherCheckpoint.id)")
                try await notifier.notify(channel: JobQueue.notificationChannel, payload: "not a checkpoint")
                try await notifier.notify(channel: JobQueue.notificationChannel, payload: "\(checkpoint.id)")
                await notifier.close()

                let mine = "event: estimate\ndata: {\"run_id\":\(run.id),\"checkpoint_id\":\(checkpoint.id)}\n\n"
                let theirs = "event: estimate\ndata: {\"run_id\":\(other.id),\"checkpoint_id\":\(otherCheckpoint.id)}\n\n"
                let everything = try await all.read { $0.contains(mine) }
                let first = try #require(everything.range(of: theirs), "\(everything)")
                #expect(first.lowerBound < everything.range(of: mine)!.lowerBound)
                let runOnly = try await runStream.read { $0.contains(mine) }
                #expect(!runOnly.contains("\"run_id\":\(other.id)"))
            }
        }

        @Test func answersAnEventStreamWithStreamHeadersAndKeepAlives() async throws {
            var limits = DashboardLimits()
            limits.keepAliveInterval = .milliseconds(200)
            try await TestDashboard.run(limits: limits) { dashboard, _ in
                let stream = try await TestClient.connect(port: dashboard.port)
                defer { stream.close() }
                try await stream.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
                let text = try await stream.read { $0.contains(": keep-alive\n\n") }
                let response = try TestClient.parse(text)
                #expect(response.status == 200)
                #expect(response.headers["content-type"] == "text/event-stream; charset=utf-8")
                #expect(response.headers["content-length"] == nil)
                #expect(response.headers["cache-control"] == "no-store")
                #expect(response.body.hasPrefix("retry: 2000\n\n"))
            }
        }

        @Test func sendsAnEventAfterTheDatabaseConnectionComesBack() async throws {
            try await TestDashboard.run { dashboard, _ in
                let (run, checkpoint) = try await dashboard.seedRun()
                let stream = try await openStream("/runs/\(run.id)/events", port: dashboard.port)
                defer { stream.close() }
                try await dashboard.waitForListener()
                let admin = try await dashboard.connect()
                try await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'volumed-dashboard' AND datname = current_database()")
                let refreshed = "event: estimate\ndata: {\"run_id\":\(run.id),\"checkpoint_id\":null,\"reconnected\":true}\n\n"
                _ = try await stream.read { $0.contains(refreshed) }

                // The listener listens again on its new session.
                let mine = "data: {\"run_id\":\(run.id),\"checkpoint_id\":\(checkpoint.id)}\n\n"
                try await admin.notify(channel: JobQueue.notificationChannel, payload: "\(checkpoint.id)")
                _ = try await stream.read { $0.contains(mine) }
                await admin.close()

                let metrics = try await TestClient.request("/metrics", port: dashboard.port)
                #expect(metrics.status == 200)
                #expect(metrics.body.contains("volumed_database_reconnects_total 2\n"), "\(metrics.body)")
            }
        }

        @Test func gracefulShutdownEndsOpenEventStreams() async throws {
            let started = ContinuousClock.now
            try await TestDashboard.run { dashboard, group in
                let open = try await openStream("/events", port: dashboard.port)
                defer { open.close() }
                await group.triggerGracefulShutdown()
                // The stream ends (the server closes it) well before the 2 s grace.
                let rest = try await open.readToEnd(timeout: .seconds(5))
                #expect(!rest.contains("HTTP/1.1"))
                #expect(ContinuousClock.now - started < .seconds(10))
                // New connections are refused once the server stopped.
                try await waitUntilAsync { (try? await TestClient.connect(port: dashboard.port)) == nil }
            }
        }

        /// A connected event stream, its response head and first message read.
        private func openStream(_ path: String, port: UInt16) async throws -> TestClient {
            let client = try await TestClient.connect(port: port)
            try await client.send("GET \(path) HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
            let head = try await client.read { $0.contains("retry: 2000\n\n") }
            #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(head)")
            return client
        }
    }
}

/// Polls `condition` every 50 ms for up to 10 s.
func waitUntilAsync(_ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw TestClient.TestTimeout() }
        try await Task.sleep(for: .milliseconds(50))
    }
}
