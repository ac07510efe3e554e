import Base
import DB
import Foundation

/// The JSON API's documents (`/api/overview`, `/api/runs/<id>`, `/api/checkpoints/<id>`): the
/// data of the pages, keys in snake_case as the database's columns, times in ISO 8601 (UTC),
/// infinite and NaN numbers (an unbounded direction's radius, an infinite volume) as null.
///
/// ```text
/// GET /api/overview
/// { "runs": [ { "id", "name", "path", "created_at", "checkpoints", "latest_step",
///               "jobs": { "queued", "running", "done", "failed", "expired_leases" },
///               "latest": [ { <key>, "checkpoint_id", "step", "log10_volume", "previous_checkpoint_id",
///                             "previous_step", "previous_log10_volume", "change" } ] } ],
///   "queue": { "queued", "running", "done", "failed", "expired_leases" },
///   "failures": [ { "job_id", "state", "run_id", "run", "checkpoint_id", "step", "checkpoint_path",
///                   "attempts", "max_attempts", "error_code", "last_error", "updated_at" } ] }
///
/// GET /api/runs/<id>
/// { "run": { "id", "name", "path", "created_at" }, "jobs": { …per state… },
///   "checkpoints": [ <checkpoint> ],
///   "points": [ { <key>, "estimate_id", "checkpoint_id", "step", "log10_volume",
///                 "interval_low", "interval_high", "created_at" } ] }
///
/// GET /api/checkpoints/<id>
/// { "checkpoint": <checkpoint>, "run": { … }, "other_versions": [ <checkpoint> ],
///   "estimates": [ { "id", "checkpoint_id", "job_id", "created_at", <key>, "sigma", "software_version",
///                    "skipped", "log_volume", "log10_volume", "bits", "max_sample", "ess", "interval_low",
///                    "interval_high", "kl_evaluations", "unbounded", "nonfinite", "seconds",
///                    "seconds_preconditioner", "preconditioner_rse",
///                    "samples": [ { "direction", "radius", "log_estimate", "kl_evaluations" } ] } ],
///   "jobs": [ { "id", "state", "attempts", "max_attempts", "error_code", "last_error",
///               "skip_reasons": { "<preconditioner>": "<reason>" }, "created_at", "updated_at", "finished_at" } ] }
///
/// <checkpoint> = { "id", "run_id", "step", "path", "fingerprint", "n_params", "architecture", "created_at" }
/// <key> = "eval_fingerprint", "cutoff", "preconditioner", "preconditioner_params", "prior", "prior_center",
///         "sigma_rule", "directions", "seed", "tolerance", "neighbourhood", "parameters" (the estimate's
///         identity, as in `estimates`)
/// ```
/// `step` is null for a checkpoint without one; `skipped` is the reason, or null for a computed
/// estimate (whose result fields are then set); `interval_low`/`interval_high` are the 95%
/// bootstrap interval of `log_volume` in nats. `log10_volume` of a point is null when infinite.
public enum DashboardJSON {
    public static func overview(_ overview: DashboardOverview) -> JSONValue {
        object([
            ("runs", .array(overview.runs.map(runOverview))),
            ("queue", queue(overview.queue)),
            ("failures", .array(overview.failures.map(failure))),
        ])
    }

    public static func run(_ detail: RunDetail) -> JSONValue {
        object([
            ("run", run(detail.run)),
            ("jobs", queue(detail.jobs)),
            ("checkpoints", .array(detail.checkpoints.map(checkpoint))),
            ("points", .array(detail.points.map(point))),
        ])
    }

    public static func checkpoint(_ detail: CheckpointDetail) -> JSONValue {
        object([
            ("checkpoint", checkpoint(detail.checkpoint)),
            ("run", run(detail.run)),
            ("other_versions", .array(detail.otherVersions.map(checkpoint))),
            ("estimates", .array(detail.estimates.map(estimate))),
            ("jobs", .array(detail.jobs.map(job))),
        ])
    }

    // MARK: Parts

    static func run(_ run: RunRecord) -> JSONValue {
        object([("id", int(run.id)), ("name", .string(run.name)), ("path", .string(run.path)), ("created_at", date(run.createdAt))])
    }

    static func checkpoint(_ c: CheckpointRecord) -> JSONValue {
        object([
            ("id", int(c.id)), ("run_id", int(c.runID)), ("step", int(c.step)), ("path", .string(c.path)),
            ("fingerprint", .string(c.fingerprint)), ("n_params", int(c.nParams)), ("architecture", string(c.architecture)),
            ("created_at", date(c.createdAt)),
        ])
    }

    static func queue(_ q: QueueCounts) -> JSONValue {
        object([
            ("queued", .int(q.queued)), ("running", .int(q.running)), ("done", .int(q.done)), ("failed", .int(q.failed)),
            ("expired_leases", .int(q.expiredLeases)),
        ])
    }

    static func runOverview(_ r: RunOverview) -> JSONValue {
        object([
            ("id", int(r.run.id)), ("name", .string(r.run.name)), ("path", .string(r.run.path)),
            ("created_at", date(r.run.createdAt)), ("checkpoints", .int(r.checkpoints)), ("latest_step", int(r.latestStep)),
            ("jobs", queue(r.jobs)), ("latest", .array(r.latest.map(latest))),
        ])
    }

    static func latest(_ l: LatestVolume) -> JSONValue {
        object(keyFields(l.key) + [
            ("checkpoint_id", int(l.checkpointID)), ("step", int(l.step)), ("log10_volume", double(l.log10Volume)),
            ("previous_checkpoint_id", int(l.previousCheckpointID)), ("previous_step", int(l.previousStep)),
            ("previous_log10_volume", double(l.previousLog10Volume)), ("change", double(l.change)),
        ])
    }

    static func failure(_ f: JobFailure) -> JSONValue {
        object([
            ("job_id", int(f.jobID)), ("state", .string(f.state.rawValue)), ("run_id", int(f.runID)), ("run", .string(f.run)),
            ("checkpoint_id", int(f.checkpointID)), ("step", int(f.step)), ("checkpoint_path", .string(f.checkpointPath)),
            ("attempts", .int(f.attempts)), ("max_attempts", .int(f.maxAttempts)), ("error_code", string(f.errorCode)),
            ("last_error", .string(f.lastError)), ("updated_at", date(f.updatedAt)),
        ])
    }

    static func point(_ p: SeriesPoint) -> JSONValue {
        object(keyFields(p.key) + [
            ("estimate_id", int(p.estimateID)), ("checkpoint_id", int(p.checkpointID)), ("step", int(p.step)),
            ("log10_volume", double(p.log10Volume)), ("interval_low", double(p.intervalLow)),
            ("interval_high", double(p.intervalHigh)), ("created_at", date(p.createdAt)),
        ])
    }

    static func estimate(_ e: StoredEstimate) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("id", int(e.id)), ("checkpoint_id", int(e.checkpointID)), ("job_id", int(e.jobID)), ("created_at", date(e.createdAt)),
        ]
        fields += keyFields(e.record.key)
        fields += [("sigma", double(e.record.sigma)), ("software_version", .string(e.record.softwareVersion))]
        switch e.record.outcome {
        case .skipped(let reason):
            fields.append(("skipped", .string(reason)))
        case .computed(let r):
            fields += [
                ("skipped", .null), ("log_volume", double(r.logVolume)), ("log10_volume", double(r.log10Volume)),
                ("bits", double(r.bits)), ("max_sample", double(r.maxSample)), ("ess", double(r.ess)),
                ("interval_low", double(r.intervalLow)), ("interval_high", double(r.intervalHigh)),
                ("kl_evaluations", int(r.klEvaluations)), ("unbounded", .int(r.unbounded)), ("nonfinite", .int(r.nonfinite)),
                ("seconds", double(r.seconds)), ("seconds_preconditioner", double(r.secondsPreconditioner)),
                ("preconditioner_rse", double(r.preconditionerRelativeStandardError)),
                ("samples", .array(r.samples.map { s in
                    object([("direction", .int(s.direction)), ("radius", double(s.radius)),
                            ("log_estimate", double(s.logEstimate)), ("kl_evaluations", .int(s.klEvaluations))])
                })),
            ]
        }
        return object(fields)
    }

    static func job(_ j: CheckpointJob) -> JSONValue {
        object([
            ("id", int(j.id)), ("state", .string(j.state.rawValue)), ("attempts", .int(j.attempts)),
            ("max_attempts", .int(j.maxAttempts)), ("error_code", string(j.errorCode)), ("last_error", string(j.lastError)),
            ("skip_reasons", object(j.skipReasons.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("created_at", date(j.createdAt)), ("updated_at", date(j.updatedAt)), ("finished_at", date(j.finishedAt)),
        ])
    }

    static func keyFields(_ k: EstimateKey) -> [(String, JSONValue)] {
        [
            ("eval_fingerprint", .string(k.evalFingerprint)), ("cutoff", .double(k.cutoff)),
            ("preconditioner", .string(k.preconditioner)), ("preconditioner_params", .string(k.preconditionerParams)),
            ("prior", .string(k.prior)), ("prior_center", .string(k.priorCenter)), ("sigma_rule", .string(k.sigmaRule)),
            ("directions", .int(k.directions)), ("seed", int(k.seed)), ("tolerance", .double(k.tolerance)),
            ("neighbourhood", .string(k.neighbourhood)), ("parameters", .string(k.parameters)),
        ]
    }

    // MARK: Values

    private static func object(_ fields: [(String, JSONValue)]) -> JSONValue { .object(JSONObject(fields)) }
    private static func int(_ value: Int64) -> JSONValue { .number(String(value)) }
    private static func int(_ value: Int64?) -> JSONValue { value.map(int) ?? .null }
    private static func double(_ value: Double?) -> JSONValue { value.map(JSONValue.double) ?? .null }
    private static func string(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    private static func date(_ value: Date?) -> JSONValue {
        value.map { .string($0.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))) } ?? .null
    }
}
