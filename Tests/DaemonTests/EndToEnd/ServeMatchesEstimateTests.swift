import DB
import Foundation
import ProcessHarness
import Testing

@testable import Daemon

extension ServeEndToEnd {
    /// What `volumed serve` stores is what `volumed estimate --json --samples` prints for the
    /// same checkpoint and settings: every column of every estimate row and every sample, to
    /// the last bit (the same code path with the same seed gives the same doubles, whatever
    /// the thread count), except the timings, timestamps and ids.
    @Suite struct MatchesEstimate {
        static let config = ServeConfig(cutoffs: [0.01, 0.1], preconditioners: ["none", "adam"], directions: 24, seed: 7)

        /// The columns of `estimates` and `estimate_samples` that are compared, and those that
        /// are not (a new column fails `storesEveryColumnThatEstimatePrints` until it is sorted
        /// into one list or the other).
        static let comparedColumns: Set<String> = [
            "eval_fingerprint", "cutoff", "preconditioner", "preconditioner_params", "prior", "prior_center",
            "sigma_rule", "sigma", "directions", "seed", "tolerance", "log_volume", "log10_volume", "bits",
            "max_sample", "ess", "interval_low", "interval_high", "kl_evaluations", "unbounded", "nonfinite",
            "software_version", "skipped", "preconditioner_rse", "eval_data", "neighbourhood", "parameters",
        ]
        static let uncomparedColumns: Set<String> = ["id", "checkpoint_id", "job_id", "seconds", "seconds_preconditioner", "created_at"]
        static let sampleColumns: Set<String> = ["estimate_id", "direction", "radius", "log_estimate", "kl_evaluations"]

        @Test func storesEveryColumnThatEstimatePrints() async throws {
            let workspace = try ServeWorkspace(config: Self.config)
            let (rows, samples, columns) = try await workspace.withServe { daemon in
                try workspace.addRun("digits")
                try workspace.addCheckpoint(0, to: "digits")
                try workspace.addCheckpoint(3000, to: "digits", arrival: .renamedFromTemporary)
                let jobs = try await daemon.eventually("checkpoints 0 and 3000 estimated") {
                    try await daemon.tables.settledJobs(atLeast: 2)
                }
                #expect(jobs.map(\.state) == ["done", "done"], "\(jobs)")
                let connection = daemon.tables.connection
                return (try await StoredEstimateRow.all(connection), try await StoredSample.all(connection),
                        try await Self.columns(of: ["estimates", "estimate_samples"], connection))
            }
            #expect(columns["estimates"] == Self.comparedColumns.union(Self.uncomparedColumns),
                    "compare a new column with what `volumed estimate --json` prints, or list it as not compared")
            #expect(columns["estimate_samples"] == Self.sampleColumns)

            // Every computed row has its samples: one per direction, in order.
            let samplesByEstimate = Dictionary(grouping: samples, by: \.estimateID)
            #expect(Set(samplesByEstimate.keys).isSubset(of: Set(rows.map(\.id))), "samples of no estimate")

            // The settings both sides were given, as the stored rows should carry them.
            var settings: PrintedResult?
            var adamParameters: [String: Double]?
            for step: Int64 in [0, 3000] {
                let path = workspace.watchRoot + "/digits/checkpoint-\(step)"
                let printed = try await Self.estimate(path, workspace: workspace)
                let stored = rows.filter { $0.checkpointPath == path }
                #expect(stored.allSatisfy { $0.step == step }, "\(stored)")
                #expect(printed.step == step && printed.checkpoint == path, "\(printed.checkpoint) step \(printed.step.map(String.init) ?? "-")")
                let evalFingerprint = try Self.sha256(printed.evalData)

                for row in stored {
                    #expect(row.nParams == printed.nParams && row.architecture == printed.architecture,
                            "checkpoint \(path): stored \(row.nParams.map(String.init) ?? "-") parameters, \(row.architecture ?? "-")")
                    #expect(row.evalFingerprint == evalFingerprint, "\(row)")
                    #expect(try row.evalData.map { try JSONDecoder().decode(PrintedEval.self, from: Data($0.utf8)) } == printed.eval, "\(row)")
                    #expect(row.softwareVersion == VolumedVersion.current, "\(row)")
                    #expect(row.neighbourhood == printed.neighbourhood && row.parameterPatterns == printed.params.joined(separator: " "),
                            "\(row): \(row.neighbourhood) '\(row.parameterPatterns)', printed \(printed.neighbourhood) \(printed.params)")
                }
                // One row per preconditioner and cutoff, none more.
                #expect(stored.count == Self.config.preconditioners.count * Self.config.cutoffs.count,
                        "checkpoint \(path): \(stored)")
                for result in printed.results {
                    if let reason = result.skipped {
                        let skipped = stored.filter { $0.preconditioner == result.preconditioner }
                        #expect(skipped.map(\.cutoff).sorted() == Self.config.cutoffs, "\(skipped)")
                        for row in skipped {
                            #expect(row.skipped == reason, "\(row)")
                            #expect(row.hasNoResults, "a skipped row with results: \(row)")
                            #expect(samplesByEstimate[row.id] == nil, "a skipped row with samples: \(row)")
                        }
                        continue
                    }
                    let matching = stored.filter {
                        $0.preconditioner == result.preconditioner && $0.cutoff == result.cutoff
                    }
                    let row = try #require(matching.first, "no stored row for \(result.preconditioner) at cutoff \(result.cutoff.map { "\($0)" } ?? "-")")
                    #expect(matching.count == 1)
                    Self.expectSame(row, result)
                    Self.expectSame(samplesByEstimate[row.id] ?? [], result.samples ?? [], of: row)
                    settings = settings ?? result
                    if result.preconditioner == "adam" { adamParameters = result.preconditionerParams }
                }
            }
            // Skipped rows carry the settings they were skipped under.
            let printed = try #require(settings)
            for row in rows where row.skipped != nil {
                #expect(row.prior == printed.prior && row.priorCenter == printed.priorCenter && row.sigmaRule == printed.sigmaRule
                        && row.directions == printed.directions && row.seed == printed.seed.map { Int64(bitPattern: $0) }
                        && row.tolerance == printed.tolerance, "\(row)")
                #expect(row.preconditioner != "adam" || row.parameters == adamParameters, "\(row)")
            }
        }

        // MARK: Comparing

        static func expectSame(_ row: StoredEstimateRow, _ result: PrintedResult, sourceLocation: SourceLocation = #_sourceLocation) {
            let name = "\(row.preconditioner) cutoff \(row.cutoff) step \(row.step.map(String.init) ?? "-")"
            func check(_ column: String, _ stored: Double?, _ printed: Double?) {
                #expect(same(stored, printed), "\(name): \(column) stored \(stored.map { "\($0)" } ?? "NULL"), printed \(printed.map { "\($0)" } ?? "null")",
                        sourceLocation: sourceLocation)
            }
            func check<T: Equatable>(_ column: String, _ stored: T?, _ printed: T?) {
                #expect(stored == printed, "\(name): \(column) stored \(stored.map { "\($0)" } ?? "NULL"), printed \(printed.map { "\($0)" } ?? "null")",
                        sourceLocation: sourceLocation)
            }
            check("preconditioner_params", row.parameters, result.preconditionerParams)
            check("prior", row.prior, result.prior)
            check("prior_center", row.priorCenter, result.priorCenter)
            check("sigma_rule", row.sigmaRule, result.sigmaRule)
            check("sigma", row.sigma, result.sigma)
            check("directions", row.directions, result.directions)
            check("seed", row.seed, result.seed.map { Int64(bitPattern: $0) })
            check("tolerance", row.tolerance, result.tolerance)
            check("log_volume", row.logVolume, result.logVolume)
            check("log10_volume", row.log10Volume, result.log10Volume)
            check("bits", row.bits, result.bits)
            check("max_sample", row.maxSample, result.maxSample)
            check("ess", row.ess, result.ess)
            check("interval_low", row.intervalLow, result.interval?.first)
            check("interval_high", row.intervalHigh, result.interval?.last)
            check("kl_evaluations", row.klEvaluations, result.klEvaluations)
            check("unbounded", row.unbounded, result.unbounded)
            check("nonfinite", row.nonfinite, result.nonfinite)
            check("preconditioner_rse", row.preconditionerRSE, result.preconditionerRSE)
            check("skipped", row.skipped, result.skipped)
        }

        static func expectSame(_ stored: [StoredSample], _ printed: [PrintedSample], of row: StoredEstimateRow,
                               sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(stored.map(\.direction) == Array(0..<stored.count), "\(row): directions out of order", sourceLocation: sourceLocation)
            #expect(stored.count == printed.count && stored.count == row.directions,
                    "\(row): \(stored.count) samples stored, \(printed.count) printed", sourceLocation: sourceLocation)
            for (s, p) in zip(stored, printed) {
                #expect(s.direction == p.direction && same(s.radius, p.radius) && same(s.logEstimate, p.logEstimate)
                        && s.klEvaluations == p.klEvaluations,
                        "\(row): sample \(s.direction) stored \(s), printed \(p)", sourceLocation: sourceLocation)
            }
        }

        /// The same double, bit for bit. JSON has no infinity or NaN: the CLI prints them as
        /// null, where the database keeps the value.
        static func same(_ stored: Double?, _ printed: Double?) -> Bool {
            guard let printed else { return stored.map { !$0.isFinite } ?? true }
            return stored?.bitPattern == printed.bitPattern
        }

        // MARK: The two sides

        /// `volumed estimate PATH --json --samples` with the daemon's settings (and twice its
        /// worker threads, which must not change a bit).
        static func estimate(_ path: String, workspace: ServeWorkspace, config: ServeConfig = Self.config) async throws -> PrintedEstimate {
            var arguments = ["estimate", path, "--json", "--samples", "--directions", "\(config.directions)", "--threads", "2"]
            arguments += ["--cutoff"] + config.cutoffs.map { "\($0)" }
            arguments += ["--preconditioner"] + config.preconditioners
            if let seed = config.seed { arguments += ["--seed", "\(seed)"] }
            let process = try VolumedProcess(
                arguments, environment: ServeDaemon.baseEnvironment,
                logPath: workspace.folder.url("estimate-\((path as NSString).lastPathComponent).log").path)
            guard let termination = await process.waitForExit(timeout: .seconds(120)) else {
                await process.stop()
                throw HarnessError("volumed estimate \(path) did not finish; output:\n\(process.logTail)")
            }
            guard termination == .exited(0) else {
                throw HarnessError("volumed estimate \(path) ended with \(termination); output:\n\(process.logTail)")
            }
            // stdout and stderr share the log: the JSON is the object printed at the start of a line.
            let output = process.log
            guard let start = output.range(of: "{\n"), let end = output.range(of: "\n}", options: .backwards) else {
                throw HarnessError("no JSON object in the output of volumed estimate \(path):\n\(output)")
            }
            return try JSONDecoder().decode(PrintedEstimate.self, from: Data(output[start.lowerBound..<end.upperBound].utf8))
        }

        /// SHA-256 of a file's bytes, by `sha256sum`: how the daemon should identify eval data.
        static func sha256(_ path: String) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
            process.arguments = [path]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0, let digest = String(decoding: output, as: UTF8.self).split(separator: " ").first else {
                throw HarnessError("sha256sum \(path) failed")
            }
            return String(digest)
        }

        static func columns(of tables: [String], _ connection: Connection) async throws -> [String: Set<String>] {
            let rows = try await connection.query(
                "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns WHERE table_name = ANY($1::text[])",
                [tables], idempotent: true)
            var columns: [String: Set<String>] = [:]
            for row in rows {
                columns[try row.decode(String.self, column: "t"), default: []].insert(try row.decode(String.self, column: "c"))
            }
            return columns
        }
    }
}

/// `volumed estimate --json --samples`, read with Foundation's decoder (not the project's JSON
/// code).
struct PrintedEstimate: Decodable {
    var checkpoint: String
    var step: Int64?
    var architecture: String
    var nParams: Int64
    var evalData: String
    var eval: PrintedEval
    var neighbourhood: String
    var params: [String]
    var results: [PrintedResult]

    enum CodingKeys: String, CodingKey {
        case checkpoint, step, architecture, nParams = "n_params", evalData = "eval_data", eval, neighbourhood, params, results
    }
}

/// `eval`: what the eval data was (the `eval_data` column holds the same object).
struct PrintedEval: Decodable, Equatable {
    var form: String
    var file: String
    var sha256: String
    var fingerprint: String
    var rows: Int
    var rowLength: Int

    enum CodingKeys: String, CodingKey {
        case form, file, sha256, fingerprint, rows, rowLength = "row_length"
    }
}

/// One entry of `results`: an estimate, or a skipped preconditioner (name and reason only).
struct PrintedResult: Decodable {
    var preconditioner: String
    var skipped: String?
    var cutoff: Double?
    var preconditionerParams: [String: Double]?
    var prior: String?
    var priorCenter: String?
    var sigma: Double?
    var sigmaRule: String?
    var directions: Int?
    var seed: UInt64?
    var tolerance: Double?
    var logVolume: Double?
    var log10Volume: Double?
    var bits: Double?
    var maxSample: Double?
    var ess: Double?
    var interval: [Double]?
    var klEvaluations: Int64?
    var unbounded: Int?
    var nonfinite: Int?
    var preconditionerRSE: Double?
    var samples: [PrintedSample]?

    enum CodingKeys: String, CodingKey {
        case preconditioner, skipped, cutoff, preconditionerParams = "preconditioner_params", prior,
             priorCenter = "prior_center", sigma, sigmaRule = "sigma_rule", directions, seed, tolerance,
             logVolume = "log_volume", log10Volume = "log10_volume", bits, maxSample = "max_sample", ess, interval,
             klEvaluations = "kl_evaluations", unbounded, nonfinite, preconditionerRSE = "preconditioner_rse", samples
    }
}

struct PrintedSample: Decodable {
    var direction: Int
    var radius: Double?
    var logEstimate: Double
    var klEvaluations: Int

    enum CodingKeys: String, CodingKey {
        case direction, radius, logEstimate = "log_estimate", klEvaluations = "kl_evaluations"
    }
}

/// A row of `estimates` with its checkpoint, read with plain SQL (not the daemon's record types).
struct StoredEstimateRow: CustomStringConvertible {
    var id: Int64
    var checkpointPath: String
    var step: Int64?
    var nParams: Int64?
    var architecture: String?
    var evalFingerprint: String
    var cutoff: Double
    var preconditioner: String
    var preconditionerParams: String
    var prior: String
    var priorCenter: String
    var sigmaRule: String
    var sigma: Double?
    var directions: Int
    var seed: Int64
    var tolerance: Double
    var logVolume: Double?
    var log10Volume: Double?
    var bits: Double?
    var maxSample: Double?
    var ess: Double?
    var intervalLow: Double?
    var intervalHigh: Double?
    var klEvaluations: Int64?
    var unbounded: Int?
    var nonfinite: Int?
    var softwareVersion: String
    var skipped: String?
    var preconditionerRSE: Double?
    var evalData: String?
    var neighbourhood: String
    /// `parameters`: the subset's patterns joined by spaces.
    var parameterPatterns: String

    /// `preconditioner_params` ("eps=0.001,exponent=0.5") as the CLI prints it: a name → value object.
    var parameters: [String: Double]? {
        var parameters: [String: Double] = [:]
        for pair in preconditionerParams.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let value = Double(parts[1]) else { return nil }
            parameters[String(parts[0])] = value
        }
        return parameters
    }

    var hasNoResults: Bool {
        [sigma, logVolume, log10Volume, bits, maxSample, ess, intervalLow, intervalHigh, preconditionerRSE].allSatisfy { $0 == nil }
            && klEvaluations == nil && unbounded == nil && nonfinite == nil
    }

    var description: String { "estimate \(id) (\(preconditioner) cutoff \(cutoff), \(checkpointPath))" }

    static func all(_ connection: Connection) async throws -> [StoredEstimateRow] {
        try await connection.query(
            """
            SELECT e.*, c.path, c.step, c.n_params, c.architecture
            FROM estimates e JOIN checkpoints c ON c.id = e.checkpoint_id
            ORDER BY e.id
            """,
            idempotent: true
        ).map { row in
            StoredEstimateRow(
                id: try row.decode(Int64.self, column: "id"),
                checkpointPath: try row.decode(String.self, column: "path"),
                step: try row.decode(Int64?.self, column: "step"),
                nParams: try row.decode(Int64?.self, column: "n_params"),
                architecture: try row.decode(String?.self, column: "architecture"),
                evalFingerprint: try row.decode(String.self, column: "eval_fingerprint"),
                cutoff: try row.decode(Double.self, column: "cutoff"),
                preconditioner: try row.decode(String.self, column: "preconditioner"),
                preconditionerParams: try row.decode(String.self, column: "preconditioner_params"),
                prior: try row.decode(String.self, column: "prior"),
                priorCenter: try row.decode(String.self, column: "prior_center"),
                sigmaRule: try row.decode(String.self, column: "sigma_rule"),
                sigma: try row.decode(Double?.self, column: "sigma"),
                directions: try row.decode(Int.self, column: "directions"),
                seed: try row.decode(Int64.self, column: "seed"),
                tolerance: try row.decode(Double.self, column: "tolerance"),
                logVolume: try row.decode(Double?.self, column: "log_volume"),
                log10Volume: try row.decode(Double?.self, column: "log10_volume"),
                bits: try row.decode(Double?.self, column: "bits"),
                maxSample: try row.decode(Double?.self, column: "max_sample"),
                ess: try row.decode(Double?.self, column: "ess"),
                intervalLow: try row.decode(Double?.self, column: "interval_low"),
                intervalHigh: try row.decode(Double?.self, column: "interval_high"),
                klEvaluations: try row.decode(Int64?.self, column: "kl_evaluations"),
                unbounded: try row.decode(Int?.self, column: "unbounded"),
                nonfinite: try row.decode(Int?.self, column: "nonfinite"),
                softwareVersion: try row.decode(String.self, column: "software_version"),
                skipped: try row.decode(String?.self, column: "skipped"),
                preconditionerRSE: try row.decode(Double?.self, column: "preconditioner_rse"),
                evalData: try row.decode(String?.self, column: "eval_data"),
                neighbourhood: try row.decode(String.self, column: "neighbourhood"),
                parameterPatterns: try row.decode(String.self, column: "parameters"))
        }
    }
}

/// A row of `estimate_samples`.
struct StoredSample: CustomStringConvertible {
    var estimateID: Int64
    var direction: Int
    var radius: Double
    var logEstimate: Double
    var klEvaluations: Int

    var description: String { "radius \(radius), log-estimate \(logEstimate), \(klEvaluations) KL evaluations" }

    static func all(_ connection: Connection) async throws -> [StoredSample] {
        try await connection.query(
            "SELECT estimate_id, direction, radius, log_estimate, kl_evaluations FROM estimate_samples ORDER BY estimate_id, direction",
            idempotent: true
        ).map { row in
            StoredSample(
                estimateID: try row.decode(Int64.self, column: "estimate_id"),
                direction: try row.decode(Int.self, column: "direction"),
                radius: try row.decode(Double.self, column: "radius"),
                logEstimate: try row.decode(Double.self, column: "log_estimate"),
                klEvaluations: try row.decode(Int.self, column: "kl_evaluations"))
        }
    }
}
