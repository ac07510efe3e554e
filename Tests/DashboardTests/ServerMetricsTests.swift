import Dashboard
import DB
import Testing

extension ServerTests {
    @Suite struct Metrics {
        @Test func exposesEveryMetricAndItsCountersMoveAsJobsComplete() async throws {
            try await TestDashboard.run { dashboard, _ in
                let (_, checkpoint) = try await dashboard.seedRun()
                let connection = try await dashboard.connect()
                _ = try await JobQueue(connection: connection).enqueue(checkpointID: checkpoint.id, settings: "{}", settingsKey: "k")
                await connection.close()

                let before = try await TestClient.request("/metrics", port: dashboard.port)
                #expect(before.status == 200)
                for line in [
                    "# TYPE volumed_build_info gauge", "volumed_build_info{version=\"9.9.9-test\"} 1.0",
                    "# TYPE volumed_jobs gauge", "volumed_jobs{state=\"queued\"} 1.0", "volumed_jobs{state=\"running\"} 0.0",
                    "volumed_jobs{state=\"done\"} 0.0", "volumed_jobs{state=\"failed\"} 0.0",
                    "volumed_estimates_stored{outcome=\"computed\"} 0.0", "volumed_estimates_stored{outcome=\"skipped\"} 0.0",
                    "# TYPE volumed_jobs_completed_total counter", "volumed_jobs_completed_total 0",
                    "volumed_estimates_computed_total 0", "volumed_kl_evaluations_total 0",
                    "# TYPE volumed_estimate_seconds histogram", "volumed_estimate_seconds_bucket{le=\"0.01\"} 0",
                    "volumed_estimate_seconds_bucket{le=\"43200.0\"} 0", "volumed_estimate_seconds_count 0",
                    "volumed_watcher_rescans_total 0", "volumed_database_reconnects_total 0",
                ] {
                    #expect(before.body.contains(line + "\n"), "missing \(line) in\n\(before.body)")
                }

                dashboard.metrics.jobCompleted(estimateSeconds: [0.5, 2], klEvaluations: 300)
                dashboard.metrics.jobFailed(code: "checkpoint.changed_since_scheduled")
                dashboard.metrics.watcherEvent(kind: "settled")
                dashboard.metrics.watcherRescanned()
                let after = try await TestClient.request("/metrics", port: dashboard.port).body
                for line in [
                    "volumed_jobs_completed_total 1", "volumed_estimates_computed_total 2", "volumed_kl_evaluations_total 300",
                    "volumed_estimate_seconds_bucket{le=\"0.3\"} 0", "volumed_estimate_seconds_bucket{le=\"1.0\"} 1",
                    "volumed_estimate_seconds_bucket{le=\"3.0\"} 2", "volumed_estimate_seconds_bucket{le=\"+Inf\"} 2",
                    "volumed_estimate_seconds_sum 2.5", "volumed_estimate_seconds_count 2",
                    "volumed_job_failures_total{code=\"checkpoint.changed_since_scheduled\"} 1",
                    "volumed_watcher_events_total{kind=\"settled\"} 1", "volumed_watcher_rescans_total 1",
                ] {
                    #expect(after.contains(line + "\n"), "missing \(line) in\n\(after)")
                }
            }
        }
    }
}
