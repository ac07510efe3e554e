import Testing
@testable import DB

extension PostgresTests {
    /// The same checkpoint measured on two eval data sets is two series in every view, and each
    /// row says which data it was measured on.
    @Suite struct EvalDataViewsTests {
        @Test func viewsKeepSeriesApartByEvalData() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let store = ResultStore(connection: connection)
                let queue = JobQueue(connection: connection)
                for step: Int64 in [100, 200] {
                    let checkpoint = try await Records.checkpoint(store, run: "run-a", step: step, fingerprint: "fp-\(step)")
                    _ = try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings(), settingsKey: "k1")
                    let job = try #require(try await queue.claim(owner: "w", leaseSeconds: 60))
                    var pile = Records.computed(logVolume: -500 - Double(step))
                    pile.evalData = #"{"form": "text", "file": "pile.jsonl", "rows": 20, "row_length": 512}"#
                    var code = Records.computed(logVolume: -900 - Double(step))
                    code.key.evalFingerprint = "eval-sha256:code"
                    code.evalData = #"{"form": "tokens", "file": "code.npy", "rows": 8, "row_length": 256}"#
                    try await queue.complete(job, estimates: [pile, code])
                }

                let series = try await connection.query("""
                    SELECT step, eval_data->>'file' AS file, log_volume FROM volume_by_step
                    ORDER BY eval_data->>'file', step
                    """)
                #expect(try series.map { try $0.decode(String.self, column: "file") } == ["code.npy", "code.npy", "pile.jsonl", "pile.jsonl"])
                #expect(try series.map { try $0.decode(Double.self, column: "log_volume") } == [-1000, -1100, -600, -700])

                let changes = try await connection.query("""
                    SELECT eval_fingerprint, checkpoints, change_log10_volume * ln(10) AS change FROM run_volume_change
                    ORDER BY eval_fingerprint
                    """)
                #expect(try changes.map { try $0.decode(String.self, column: "eval_fingerprint") } == ["eval-sha256:abc", "eval-sha256:code"])
                #expect(try changes.map { try $0.decode(Int.self, column: "checkpoints") } == [2, 2])
                #expect(try changes.map { (try $0.decode(Double.self, column: "change")).rounded() } == [-100, -100])

                let latest = try await connection.query("SELECT eval_data->>'form' AS form FROM latest_estimates ORDER BY form")
                #expect(try latest.map { try $0.decode(String.self, column: "form") } == ["text", "text", "tokens", "tokens"])
            }
        }

        @Test func evalDataMustBeAnObject() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let store = ResultStore(connection: connection)
                let queue = JobQueue(connection: connection)
                let checkpoint = try await Records.checkpoint(store, run: "run-a", step: 1, fingerprint: "fp")
                _ = try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings(), settingsKey: "k1")
                let job = try #require(try await queue.claim(owner: "w", leaseSeconds: 60))
                var record = Records.computed()
                record.evalData = "[1, 2]"
                let error = await #expect(throws: DatabaseError.self) { try await queue.complete(job, estimates: [record]) }
                #expect(error?.sqlState == "23514")
            }
        }
    }
}
