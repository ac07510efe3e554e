import DB
import Foundation
import Testing
@testable import Daemon

/// `volumed report`'s code path against a real PostgreSQL: rows stored the way workers store
/// them (enqueue → claim → complete), read back through `volume_by_step`.
@Suite struct ReportDatabaseTests {
    @Test func reportsStoredEstimatesAsTableAndPlot() async throws {
        try await withMigratedDatabase { connection in
            _ = try await store([computed(-2664.9), skipped("adam", "eps=0.001,exponent=0.5")], run: "run-a", step: 0, connection)
            _ = try await store([computed(-3012.4), computed(-2900, "adam", "eps=0.001,exponent=0.5", interval: false)], run: "run-a", step: 100, connection)
            _ = try await store([infinite(), computed(-3100, "adam", "eps=0.001,exponent=0.5", interval: false)], run: "run-a", step: 200, connection)
            let stepless = try await store([computed(-3000)], run: "run-a", step: nil, connection)
            _ = try await store([computed(-10, interval: false), computed(-8, cutoff: 0.1, interval: false)], run: #"b<&""#, step: 0, connection)
            _ = try await store([computed(-12.5, interval: false)], run: #"b<&""#, step: 50, connection)

            let store = ResultStore(connection: connection)
            let report = try await VolumeReport.load(from: store, filter: try VolumeReport.Filter())
            #expect(report.tableLines == [
                #"b<&"  cutoff 0.01  preconditioner none"#,
                "  step  log10 volume  95% interval  change",
                "     0        -10.00  —                  —",
                "    50        -12.50  —              -2.50",
                "",
                #"b<&"  cutoff 0.1  preconditioner none"#,
                "  step  log10 volume  95% interval  change",
                "     0         -8.00  —                  —",
                "",
                "run-a  cutoff 0.01  preconditioner adam:eps=0.001,exponent=0.5",
                "  step  log10 volume  95% interval   change",
                "   100      -2900.00  —                   —",
                "   200      -3100.00  —             -200.00",
                "",
                "run-a  cutoff 0.01  preconditioner none",
                "  step   log10 volume  95% interval           change",
                "     0       -2664.90  [-2666.90, -2663.90]        —",
                "   100       -3012.40  [-3014.40, -3011.40]  -347.50",
                "   200  ∞ (unbounded)  —                           —",
                "  not shown: 1 checkpoint(s) without a step (id \(stepless))",
            ])

            let svg = try #require(report.svg)
            let document = SVGDocument(svg)
            #expect(document.parseError == nil)
            // Lines: b@0.01 (2 points), run-a adam (2), run-a none (2 before the infinite one).
            #expect(document.count("polyline") == 3)
            #expect(document.count("circle") == 7 + 4)
            #expect(document.count("path") == 1)
            #expect(document.texts.contains("log10 volume vs step — cutoffs 0.01, 0.1"))
            #expect(document.texts.contains(#"b<&" · none · cutoff 0.1"#))
            #expect(svg.contains("b&lt;&amp;&quot; · none · cutoff 0.01"))
            #expect(document.texts.contains("Not shown: 1 estimate(s) of checkpoints without a step."))

            let adam = try await VolumeReport.load(from: store, filter: try VolumeReport.Filter(runs: ["run-a", "nope"], preconditioner: "adam"))
            #expect(adam.series.map(\.preconditionerName) == ["adam:eps=0.001,exponent=0.5"])
            #expect(adam.tableLines.suffix(2) == ["", "no estimates for run nope"])

            let coarse = try await VolumeReport.load(from: store, filter: try VolumeReport.Filter(cutoff: 0.1))
            #expect(coarse.series.map(\.run) == [#"b<&""#])
            #expect(coarse.series.first?.points == [VolumeSeries.Point(step: 0, log10Volume: -8, interval: nil)])

            let otherParameters = try await VolumeReport.load(from: store, filter: try VolumeReport.Filter(preconditioner: "adam:eps=1e-2"))
            #expect(otherParameters.series.isEmpty)
            #expect(otherParameters.tableLines == ["no estimates yet for preconditioner adam:eps=0.01,exponent=0.5"])
            #expect(otherParameters.svg == nil)
        }
    }

    /// A loss-neighbourhood and a one-layer estimate of the same checkpoints are series of their
    /// own, labelled, beside the full KL one (never in its place).
    @Test func neighbourhoodsAndSubsetsAreSeriesOfTheirOwn() async throws {
        try await withMigratedDatabase { connection in
            for (step, kl) in [(Int64(0), -3000.0), (100, -3100)] {
                var loss = computed(kl / 2, interval: false)
                loss.key.neighbourhood = "loss"
                var layer = computed(kl / 10, interval: false)
                layer.key.parameters = "gpt_neox.layers.0.*"
                _ = try await store([computed(kl, interval: false), loss, layer], run: "run-a", step: step, connection)
            }
            let report = try await VolumeReport.load(from: ResultStore(connection: connection), filter: try VolumeReport.Filter())
            #expect(report.tableLines.filter { $0.hasPrefix("run-a") } == [
                "run-a  cutoff 0.01  preconditioner none",
                "run-a  cutoff 0.01  preconditioner none (params: gpt_neox.layers.0.*)",
                "run-a  cutoff 0.01  preconditioner none (loss)",
            ])
            #expect(report.series.map { $0.points.map(\.log10Volume) } == [[-3000, -3100], [-300, -310], [-1500, -1550]])
            let document = SVGDocument(try #require(report.svg))
            #expect(document.count("polyline") == 3)
            #expect(document.texts.contains("run-a · none (loss)"))
        }
    }

    @Test func saysSoWhenNothingIsStored() async throws {
        try await withMigratedDatabase { connection in
            let report = try await VolumeReport.load(from: ResultStore(connection: connection), filter: try VolumeReport.Filter())
            #expect(report.tableLines == ["no estimates yet"])
            #expect(report.svg == nil)
        }
    }
}

// MARK: Test data

private func key(_ preconditioner: String, _ params: String, cutoff: Double, prior: String = "gaussian") -> EstimateKey {
    EstimateKey(evalFingerprint: "eval-sha256:abc", cutoff: cutoff, preconditioner: preconditioner, preconditionerParams: params,
                prior: prior, priorCenter: "zero", sigmaRule: "rms", directions: 3, seed: 0, tolerance: 0.01)
}

/// A computed estimate with the given log10 volume and, if `interval`, a bootstrap interval of
/// [−2, +1] around it in log10 (stored in nats).
private func computed(_ log10Volume: Double, _ preconditioner: String = "none", _ params: String = "",
                      cutoff: Double = 0.01, interval: Bool = true) -> EstimateRecord {
    let logVolume = log10Volume * M_LN10
    return EstimateRecord(
        key: key(preconditioner, params, cutoff: cutoff), sigma: 0.02, softwareVersion: "volumed test",
        outcome: .computed(EstimateResult(
            logVolume: logVolume, log10Volume: log10Volume, bits: logVolume / M_LN2, maxSample: logVolume, ess: 1,
            intervalLow: interval ? logVolume - 2 * M_LN10 : nil, intervalHigh: interval ? logVolume + M_LN10 : nil,
            klEvaluations: 9, unbounded: 0, nonfinite: 0, seconds: 0.5, secondsPreconditioner: nil,
            samples: [SampleRecord(direction: 0, radius: 0.5, logEstimate: logVolume, klEvaluations: 9)]
        ))
    )
}

/// Uniform measure with an unbounded direction: an infinite volume.
private func infinite() -> EstimateRecord {
    EstimateRecord(
        key: key("none", "", cutoff: 0.01, prior: "uniform"), sigma: 0.02, softwareVersion: "volumed test",
        outcome: .computed(EstimateResult(
            logVolume: nil, log10Volume: nil, bits: nil, maxSample: .infinity, ess: nil, intervalLow: nil, intervalHigh: nil,
            klEvaluations: 6, unbounded: 1, nonfinite: 0, seconds: 0.5, secondsPreconditioner: nil,
            samples: [SampleRecord(direction: 0, radius: .infinity, logEstimate: .infinity, klEvaluations: 6)]
        ))
    )
}

private func skipped(_ preconditioner: String, _ params: String) -> EstimateRecord {
    EstimateRecord(key: key(preconditioner, params, cutoff: 0.01), sigma: 0.02, softwareVersion: "volumed test",
                   outcome: .skipped(reason: "no optimizer state (optimizer.pt missing)"))
}

/// Stores `records` for a checkpoint of `run` the way a worker does; returns the checkpoint's id.
private func store(_ records: [EstimateRecord], run: String, step: Int64?, _ connection: Connection) async throws -> Int64 {
    let results = ResultStore(connection: connection)
    let queue = JobQueue(connection: connection)
    let runRecord = try await results.upsertRun(name: run, path: "/watch/\(run)")
    let checkpoint = try await results.upsertCheckpoint(
        runID: runRecord.id, step: step, path: "/watch/\(run)/checkpoint-\(step.map(String.init) ?? "final")",
        fingerprint: "fp-\(step.map(String.init) ?? "final")"
    ).checkpoint
    _ = try await queue.enqueue(checkpointID: checkpoint.id, settings: "{}", settingsKey: "default")
    let job = try #require(try await queue.claim(owner: "report-test", leaseSeconds: 60))
    #expect(job.checkpoint.id == checkpoint.id)
    _ = try await queue.complete(job, estimates: records)
    return checkpoint.id
}

// MARK: Database

/// A migrated database in a private, non-durable embedded cluster, which is always stopped
/// and deleted afterwards (the minimum of DBTests' cluster support: test targets share no code).
func withMigratedDatabase(_ body: (Connection) async throws -> Void) async throws {
    var template = Array("/tmp/volumed-report-test-XXXXXX".utf8CString)
    guard let created = mkdtemp(&template) else { throw POSIXError(.EIO) }
    let stateDirectory = String(cString: created)
    defer { try? FileManager.default.removeItem(atPath: stateDirectory) }
    // The cluster runs as an unprivileged user, who must be able to enter the directory.
    chmod(stateDirectory, 0o755)
    let cluster = EmbeddedPostgres(stateDirectory: stateDirectory, options: EmbeddedPostgres.Options(durable: false))
    do {
        try await cluster.start()
        let connection = try await Connection.connect(to: cluster.connectionString)
        do {
            try await Migrator().migrate(connection)
            try await body(connection)
        } catch {
            await connection.close()
            throw error
        }
        await connection.close()
    } catch {
        _ = try? await cluster.stop()
        throw error
    }
    try await cluster.stop()
}
