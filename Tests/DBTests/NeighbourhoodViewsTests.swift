import Testing
@testable import DB

extension PostgresTests {
    /// A loss-neighbourhood or parameter-subset estimate of a checkpoint is stored beside its full
    /// KL one, never in its place, and every view and read keeps them in series of their own.
    @Suite struct NeighbourhoodViewsTests {
        @Test func klLossAndSubsetEstimatesOfOneCheckpointAreSeparateSeries() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let store = ResultStore(connection: connection)
                let queue = JobQueue(connection: connection)
                let checkpoint = try await Records.checkpoint(store, run: "run-a", step: 100, fingerprint: "fp")
                _ = try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings(), settingsKey: "k1")
                let job = try #require(try await queue.claim(owner: "w", leaseSeconds: 60))
                let kl = Records.computed(logVolume: -500)
                var loss = Records.computed(logVolume: -300)
                loss.key.neighbourhood = "loss"
                var subset = Records.computed(logVolume: -40)
                subset.key.parameters = "gpt_neox.layers.0.*"
                #expect(try await queue.complete(job, estimates: [kl, loss, subset]) == 3)

                let existing = try await store.existingEstimateKeys(checkpointID: checkpoint.id)
                #expect(existing == [kl.key, loss.key, subset.key])

                let rows = try await connection.query("""
                    SELECT neighbourhood, parameters, log_volume FROM volume_by_step ORDER BY log_volume
                    """)
                #expect(try rows.map { try $0.decode(String.self, column: "neighbourhood") } == ["kl", "loss", "kl"])
                #expect(try rows.map { try $0.decode(String.self, column: "parameters") } == ["", "", "gpt_neox.layers.0.*"])

                let series = try await store.volumeSeries()
                #expect(series.map(\.seriesLabel) == [nil, "params: gpt_neox.layers.0.*", "loss"])
                #expect(series.map(\.logVolume) == [-500, -40, -300])
                let recent = try await store.recentEstimates()
                #expect(Set(recent.map(\.seriesLabel)) == [nil, "loss", "params: gpt_neox.layers.0.*"])
            }
        }

        @Test func parametersMustBeCanonical() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let store = ResultStore(connection: connection)
                let queue = JobQueue(connection: connection)
                let checkpoint = try await Records.checkpoint(store, run: "run-a", step: 1, fingerprint: "fp")
                _ = try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings(), settingsKey: "k1")
                let job = try #require(try await queue.claim(owner: "w", leaseSeconds: 60))
                var record = Records.computed()
                record.key.parameters = " a.*"
                let error = await #expect(throws: DatabaseError.self) { try await queue.complete(job, estimates: [record]) }
                #expect(error?.sqlState == "23514")
            }
        }
    }
}
