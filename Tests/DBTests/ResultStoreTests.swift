import Foundation
import Testing
@testable import DB

extension PostgresTests {
    @Suite struct ResultStoreTests {
        @Test func hostileNamesAndPathsAreStoredVerbatim() async throws {
            try await withCluster { cluster in
                let store = ResultStore(connection: try await cluster.migratedConnection())
                let name = "'); DROP TABLE runs; --"
                let path = #"/watch/it's "quoted" \back\slash/ünï 🙂/$1/%s"#
                let run = try await store.upsertRun(name: name, path: path)
                let checkpointPath = path + "/checkpoint-1'; DELETE FROM checkpoints; --"
                let checkpoint = try await store.upsertCheckpoint(runID: run.id, step: 1, path: checkpointPath, fingerprint: #"fp\"'"#)
                let runs = try await store.runs()
                #expect(runs.map(\.name) == [name])
                #expect(runs.map(\.path) == [path])
                #expect(checkpoint.checkpoint.path == checkpointPath)
                #expect(checkpoint.checkpoint.fingerprint == #"fp\"'"#)
            }
        }

        @Test func upsertsAreIdempotent() async throws {
            try await withCluster { cluster in
                let store = ResultStore(connection: try await cluster.migratedConnection())
                let run = try await store.upsertRun(name: "a", path: "/watch/a")
                let renamed = try await store.upsertRun(name: "a-renamed", path: "/watch/a")
                #expect(renamed.id == run.id)
                #expect(renamed.name == "a-renamed")

                let first = try await store.upsertCheckpoint(runID: run.id, step: 10, path: "/watch/a/tmp-checkpoint-10", fingerprint: "fp")
                let again = try await store.upsertCheckpoint(runID: run.id, step: 10, path: "/watch/a/checkpoint-10", fingerprint: "fp")
                #expect(first.inserted)
                #expect(!again.inserted)
                #expect(again.checkpoint.id == first.checkpoint.id)
                #expect(again.checkpoint.path == "/watch/a/checkpoint-10")

                let changed = try await store.upsertCheckpoint(runID: run.id, step: 10, path: "/watch/a/checkpoint-10", fingerprint: "fp-2")
                #expect(changed.inserted)

                // A checkpoint without a step is still one row (NULLS NOT DISTINCT).
                let bare = try await store.upsertCheckpoint(runID: run.id, step: nil, path: "/watch/a/model.safetensors", fingerprint: "fp")
                let bareAgain = try await store.upsertCheckpoint(runID: run.id, step: nil, path: "/watch/a/model.safetensors", fingerprint: "fp")
                #expect(bare.inserted)
                #expect(!bareAgain.inserted)
                #expect(bareAgain.checkpoint.id == bare.checkpoint.id)
                #expect(bare.checkpoint.step == nil)

                try await store.describeCheckpoint(id: first.checkpoint.id, nParams: 1_234_567, architecture: "gpt_neox")
                let described = try await store.upsertCheckpoint(runID: run.id, step: 10, path: "/watch/a/checkpoint-10", fingerprint: "fp")
                #expect(described.checkpoint.nParams == 1_234_567)
                #expect(described.checkpoint.architecture == "gpt_neox")
                let missing = await #expect(throws: DatabaseError.self) {
                    try await store.describeCheckpoint(id: 999_999, nParams: 1, architecture: "mlp")
                }
                #expect(missing?.code == "db.not_found")
            }
        }

        @Test func statusAndReportReadsSummarizeTheResults() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let store = ResultStore(connection: connection)
                let queue = JobQueue(connection: connection)
                // Two runs, two steps each, two preconditioners; run-b's later step loses more volume.
                let volumes: [(run: String, step: Int64, none: Double, adam: Double)] = [
                    ("run-a", 100, -100, -80), ("run-a", 200, -110, -85),
                    ("run-b", 100, -100, -80), ("run-b", 200, -150, -120),
                ]
                for entry in volumes {
                    let checkpoint = try await Records.checkpoint(store, run: entry.run, step: entry.step, fingerprint: "fp-\(entry.step)")
                    _ = try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings(), settingsKey: "k1")
                    let claimed = try #require(try await queue.claim(owner: "w", leaseSeconds: 60))
                    try await queue.complete(claimed, estimates: [
                        Records.computed(logVolume: entry.none),
                        Records.computed(preconditioner: "adam", params: "eps=0.001,exponent=0.5", logVolume: entry.adam),
                    ])
                }
                #expect(try await store.queueCounts() == QueueCounts(done: 4))

                let recent = try await store.recentEstimates(limit: 3)
                #expect(recent.count == 3)
                #expect(recent.first?.run == "run-b")
                #expect(recent.first?.step == 200)
                #expect(recent.first?.preconditioner == "adam")
                #expect(recent.first.flatMap(\.log10Volume).map { abs($0 - (-120 / log(10))) < 1e-12 } == true)

                let series = try await store.volumeSeries(runs: ["run-b"], cutoff: 0.01, preconditioner: "adam")
                #expect(series.map(\.step) == [100, 200])
                #expect(series.map(\.logVolume) == [-80, -120])
                #expect(try await store.volumeSeries().count == 8)

                let change = try await connection.query(
                    """
                    SELECT run, change_log10_volume FROM run_volume_change
                    WHERE cutoff = 0.01 AND preconditioner = 'none' ORDER BY change_log10_volume
                    """
                )
                #expect(try change.map { try $0.decode(String.self, column: "run") } == ["run-b", "run-a"])
                let loss = try #require(change.first).decode(Double.self, column: "change_log10_volume")
                #expect(abs(loss - (-50 / log(10))) < 1e-9)
            }
        }
    }
}
