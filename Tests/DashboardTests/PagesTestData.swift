import DB
import Foundation

// Hand-made records for the page tests: what the store would read back.

let hostile = "<img src=x onerror=alert(1)>"
let escapedHostile = "&lt;img src=x onerror=alert(1)&gt;"
let epoch = Date(timeIntervalSince1970: 1_740_000_000)  // 2025-02-19 21:20:00 UTC

func key(_ preconditioner: String = "none", params: String = "", cutoff: Double = 0.01,
         eval: String = "3f2a9c1b77aa0011", prior: String = "gaussian", directions: Int = 8, seed: Int64 = 0) -> EstimateKey {
    EstimateKey(evalFingerprint: eval, cutoff: cutoff, preconditioner: preconditioner, preconditionerParams: params,
                prior: prior, priorCenter: "zero", sigmaRule: "rms", directions: directions, seed: seed, tolerance: 0.01)
}

func runRecord(_ id: Int64 = 1, _ name: String = "run-a") -> RunRecord {
    RunRecord(id: id, name: name, path: "/watch/\(name)", createdAt: epoch)
}

/// A checkpoint added `minute` minutes after the epoch.
func checkpointRecord(_ id: Int64, step: Int64?, run: Int64 = 1, minute: Double = 0, path: String? = nil,
                      architecture: String? = "mlp") -> CheckpointRecord {
    CheckpointRecord(id: id, runID: run, step: step, path: path ?? "/watch/run-a/checkpoint-\(step.map(String.init) ?? "final")",
                     fingerprint: "fp\(id)-0123456789abcdef", nParams: 124_439_808, architecture: architecture,
                     createdAt: epoch + minute * 60)
}

/// A point of `key` on checkpoint `checkpoint`; `interval` is ± that much in log10 (stored in nats).
func point(_ key: EstimateKey, _ checkpoint: CheckpointRecord, _ log10Volume: Double?, interval: Double? = nil) -> SeriesPoint {
    let low = zip(log10Volume, interval).map { ($0 - $1) * M_LN10 }
    let high = zip(log10Volume, interval).map { ($0 + $1) * M_LN10 }
    return SeriesPoint(key: key, estimateID: checkpoint.id * 100, checkpointID: checkpoint.id, step: checkpoint.step,
                       log10Volume: log10Volume, intervalLow: low, intervalHigh: high, createdAt: checkpoint.createdAt)
}

private func zip(_ a: Double?, _ b: Double?) -> (Double, Double)? {
    guard let a, let b else { return nil }
    return (a, b)
}

func computed(_ key: EstimateKey, log10Volume: Double?, samples: [SampleRecord] = [], id: Int64 = 1,
              checkpoint: Int64 = 1, software: String = "volumed 1.0") -> StoredEstimate {
    let logVolume = log10Volume.map { $0 * M_LN10 }
    let result = EstimateResult(
        logVolume: logVolume, log10Volume: log10Volume, bits: logVolume.map { $0 / M_LN2 }, maxSample: logVolume ?? .infinity,
        ess: log10Volume == nil ? nil : 3.25, intervalLow: logVolume.map { $0 - 2 * M_LN10 }, intervalHigh: logVolume.map { $0 + M_LN10 },
        klEvaluations: 200, unbounded: log10Volume == nil ? 1 : 0, nonfinite: 0, seconds: 12.5, secondsPreconditioner: 0.75,
        samples: samples)
    return StoredEstimate(id: id, checkpointID: checkpoint, jobID: 1,
                          record: EstimateRecord(key: key, sigma: 0.02, softwareVersion: software, outcome: .computed(result)),
                          createdAt: epoch + 120)
}

func skipped(_ key: EstimateKey, _ reason: String, id: Int64 = 2) -> StoredEstimate {
    StoredEstimate(id: id, checkpointID: 1, jobID: 1,
                   record: EstimateRecord(key: key, sigma: nil, softwareVersion: "volumed 1.0", outcome: .skipped(reason: reason)),
                   createdAt: epoch + 120)
}

func job(_ id: Int64 = 1, state: JobState = .done, errorCode: String? = nil, lastError: String? = nil,
         skipReasons: [String: String] = [:]) -> CheckpointJob {
    CheckpointJob(id: id, state: state, attempts: 1, maxAttempts: 3, errorCode: errorCode, lastError: lastError,
                  skipReasons: skipReasons, createdAt: epoch, updatedAt: epoch + 60, finishedAt: state == .done ? epoch + 60 : nil)
}

extension String {
    /// How many times `part` occurs (not overlapping).
    func occurrences(of part: String) -> Int {
        components(separatedBy: part).count - 1
    }

    /// The text between the first `start` and the next `end` after it.
    func between(_ start: String, _ end: String) -> String? {
        guard let from = range(of: start), let to = self[from.upperBound...].range(of: end) else { return nil }
        return String(self[from.upperBound..<to.lowerBound])
    }
}
