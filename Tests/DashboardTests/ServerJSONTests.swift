import Base
import Dashboard
import DB
import Foundation
import Testing

@Suite struct ServerJSONTests {
    private let key = EstimateKey(evalFingerprint: "eval", cutoff: 0.01, preconditioner: "adam", preconditionerParams: "eps=0.001",
                                  prior: "uniform", priorCenter: "zero", sigmaRule: "rms", directions: 2, seed: 7, tolerance: 0.01)
    private let date = Date(timeIntervalSince1970: 1_800_000_000.25)

    @Test func writesInfiniteVolumesAndRadiiAsNullAndSkippedReasonsAsText() throws {
        let infinite = EstimateResult(
            logVolume: nil, log10Volume: nil, bits: nil, maxSample: 3.5, ess: nil, intervalLow: nil, intervalHigh: nil,
            klEvaluations: 40, unbounded: 1, nonfinite: 0, seconds: 1.25, secondsPreconditioner: nil,
            samples: [SampleRecord(direction: 0, radius: .infinity, logEstimate: .infinity, klEvaluations: 20),
                      SampleRecord(direction: 1, radius: 0.5, logEstimate: -1.5, klEvaluations: 20)])
        let estimates = [
            StoredEstimate(id: 1, checkpointID: 3, jobID: nil,
                           record: EstimateRecord(key: key, sigma: 0.02, softwareVersion: "0.1.0", outcome: .computed(infinite)),
                           createdAt: date),
            StoredEstimate(id: 2, checkpointID: 3, jobID: 9,
                           record: EstimateRecord(key: key, sigma: nil, softwareVersion: "0.1.0",
                                                  outcome: .skipped(reason: "no optimizer state (optimizer.pt missing)")),
                           createdAt: date),
        ]
        let run = RunRecord(id: 5, name: "<b>run</b>", path: "/w/run", createdAt: date)
        let checkpoint = CheckpointRecord(id: 3, runID: 5, step: nil, path: "/w/run/model.safetensors", fingerprint: "f",
                                          nParams: 10, architecture: "mlp", createdAt: date)
        let detail = CheckpointDetail(checkpoint: checkpoint, run: run, otherVersions: [], estimates: estimates, jobs: [
            CheckpointJob(id: 9, state: .done, attempts: 1, maxAttempts: 3, errorCode: nil, lastError: nil,
                          skipReasons: ["adam": "no optimizer state"], createdAt: date, updatedAt: date, finishedAt: date),
        ])
        let json = try JSONValue.parse(DashboardJSON.checkpoint(detail).serialized())
        #expect(json["checkpoint"]?["step"]?.isNull == true)
        #expect(json["run"]?["name"]?.stringValue == "<b>run</b>")
        #expect(json["run"]?["created_at"]?.stringValue == "2027-01-15T08:00:00.250Z")
        let computed = try #require(json["estimates"]?.arrayValue?.first)
        #expect(computed["log10_volume"]?.isNull == true)
        #expect(computed["skipped"]?.isNull == true)
        #expect(computed["preconditioner_params"]?.stringValue == "eps=0.001")
        #expect(computed["seconds"]?.doubleValue == 1.25)
        #expect(computed["samples"]?.arrayValue?.map { $0["radius"]?.isNull } == [true, false])
        #expect(computed["samples"]?.arrayValue?.first?["log_estimate"]?.isNull == true)
        let skipped = try #require(json["estimates"]?.arrayValue?.last)
        #expect(skipped["skipped"]?.stringValue == "no optimizer state (optimizer.pt missing)")
        #expect(skipped["log_volume"] == nil)
        #expect(json["jobs"]?.arrayValue?.first?["skip_reasons"]?["adam"]?.stringValue == "no optimizer state")
    }
}
