import Base
import DB
import Estimator
import Foundation
import Testing

@testable import Daemon

/// LLC jobs' settings, keys and rows: what the scheduler stores and the worker writes.
@Suite struct LLCJobTests {
    @Test func settingsRoundTripAndNeverShareAVolumeKey() throws {
        var settings = LLCSettings()
        settings.chains = 2
        settings.draws = 10
        let job = LLCJobSettings(settings: settings, evalFingerprint: "4e1f")
        #expect(job.json.serialized() == #"{"measure":"llc","epsilon":0.001,"gamma":100,"nbeta":"auto","chains":2,"draws":10,"burn_in":0,"batch_size":32,"seed":0,"params":[],"eval_fingerprint":"4e1f"}"#)
        #expect(try LLCJobSettings(text: job.json.serialized()) == job)
        #expect(job.key != JobSettings(plan: EstimationPlan(), evalFingerprint: "4e1f").key)
        #expect(job.key != job.estimateKey)
        // The estimate's key ignores the eval data (a column of the identity of its own).
        #expect(LLCJobSettings(settings: settings, evalFingerprint: "other").estimateKey == job.estimateKey)
        #expect(LLCJobSettings(settings: settings, evalFingerprint: "other").key != job.key)
        // A volume job's settings are not an LLC job's.
        let volume = JobSettings(plan: EstimationPlan(), evalFingerprint: "4e1f").json.serialized()
        #expect(throws: JobSettingsError.self) { try LLCJobSettings(text: volume) }
    }

    @Test func anEstimateBecomesItsRow() throws {
        var settings = LLCSettings()
        settings.chains = 2
        settings.draws = 2
        settings.burnIn = 1
        settings.parameters = ["0.weight", "2.*"]
        settings.seed = 3
        let estimate = LLCEstimate(
            settings: settings, batchSize: 32, nbeta: LLCSettings.defaultNBeta(batchSize: 32), dimension: 650, initLoss: 0.25,
            chains: [
                LLCChain(llc: 4, losses: [0.5, 0.75, 0.75], divergence: nil, flatAfterBurnIn: true),
                LLCChain(llc: .nan, losses: [0.5, 90], divergence: LLCChain.Divergence(step: 1, kind: .blowUp, loss: 90),
                         flatAfterBurnIn: false),
            ],
            seconds: 1.5, secondsPerDraw: 0.25)
        let record = LLCRecords.record(estimate, evalFingerprint: "4e1f", evalData: #"{"form": "tensors"}"#)
        #expect(record.evalFingerprint == "4e1f")
        #expect(record.settingsKey == LLCJobSettings.estimateKey(settings))
        #expect(record.parameters == "0.weight 2.*")
        #expect(record.nbeta == LLCSettings.defaultNBeta(batchSize: 32))
        #expect(record.nbetaRule == "auto")
        #expect(record.seed == 3 && record.draws == 2 && record.burnIn == 1 && record.batchSize == 32 && record.dimension == 650)
        #expect(record.mean == 4 && record.standardDeviation == 0)
        #expect(record.divergedChains == 1)
        #expect(record.chains[1].divergence == LLCRecord.Chain.Divergence(step: 1, kind: "blow_up", loss: 90))
        #expect(record.chains.map(\.losses) == [[0.5, 0.75, 0.75], [0.5, 90]])
        #expect(record.chains.map(\.flatAfterBurnIn) == [true, false])
        #expect(record.softwareVersion == EstimateRecords.softwareVersion)
    }

    @Test func aRunsManifestDecidesWhetherItsCheckpointsGetAnLLCJob() throws {
        let workspace = try ServeWorkspace()
        let on = try workspace.addRun("on", extraManifest: "\n[llc]\nenabled = true\ndraws = 10\n")
        let off = try workspace.addRun("off")
        let daemon = LLCPlan(enabled: false, settings: LLCSettings())
        let planOn = Preparation.llcPlan(checkpoint: on + "/checkpoint-100", folder: nil, base: daemon)
        #expect(planOn.enabled && planOn.settings.draws == 10)
        #expect(Preparation.llcPlan(checkpoint: off + "/checkpoint-100", folder: nil, base: daemon).enabled == false)
        // The daemon's `[llc] enabled` reaches runs that do not say.
        #expect(Preparation.llcPlan(checkpoint: off + "/checkpoint-100", folder: nil, base: LLCPlan(enabled: true)).enabled)
    }
}
