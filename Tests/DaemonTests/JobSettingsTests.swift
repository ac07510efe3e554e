import Base
import Config
import Estimator
import Testing

@testable import Daemon

/// A job's settings JSON is hashed into its `settings_key`: the same settings must give the same
/// key in every version, or a restart after an upgrade would enqueue every checkpoint again. The
/// texts and keys below are those of the code before the settings codec was unified (the last
/// one read from the `jobs` table of the daemon built from it).
@Suite struct JobSettingsTests {
    @Test func defaultSettingsKeepTheirJSONAndKey() throws {
        let settings = JobSettings(plan: EstimationPlan(), evalFingerprint: "4e1f")
        #expect(settings.json.serialized() == #"{"cutoffs":[0.01],"preconditioners":["none","adam:eps=0.001,exponent=0.5"],"prior":"gaussian","prior_center":"zero","sigma":"rms","directions":100,"seed":0,"tolerance":0.01,"eval_fingerprint":"4e1f"}"#)
        #expect(settings.key == "ffa3a35c763bdf9504f6294f46ed5282581477de07db85e4dcbc977c4274e06c")
        #expect(try JobSettings(text: settings.json.serialized()) == settings)
    }

    @Test func everySettingKeepsItsJSONAndKey() throws {
        let plan = EstimationPlan(
            settings: EstimateSettings(cutoffs: [0.01, 0.1, 2], prior: .uniform, priorCenter: .anchor, sigma: .value(0.05),
                                       directions: 50, seed: 9_000_000_000_000_000_000, tolerance: 0.001),
            preconditioners: [.none, try PreconditionerSpec(parsing: "adam:eps=1e-2"), try PreconditionerSpec(parsing: "fisher")])
        let settings = JobSettings(plan: plan, evalFingerprint: nil)
        #expect(settings.json.serialized() == #"{"cutoffs":[0.01,0.1,2],"preconditioners":["none","adam:eps=0.01,exponent=0.5","fisher:eps=0.01,samples=1"],"prior":"uniform","prior_center":"anchor","sigma":"0.05","directions":50,"seed":9000000000000000000,"tolerance":0.001,"eval_fingerprint":null}"#)
        #expect(settings.key == "12acf290944d57965e0aedffd53cbc3fb235536f6aacb5f8c8356b19a630f24d")
        #expect(try JobSettings(text: settings.json.serialized()) == settings)
    }

    /// A loss neighbourhood or a parameter subset is a key of its own; the defaults add nothing
    /// to the JSON (the keys above stay).
    @Test func neighbourhoodAndParametersChangeTheKeyOnlyWhenGiven() throws {
        var plan = EstimationPlan()
        plan.settings.neighbourhood = .loss
        let loss = JobSettings(plan: plan, evalFingerprint: "4e1f")
        #expect(loss.json.serialized() == #"{"cutoffs":[0.01],"preconditioners":["none","adam:eps=0.001,exponent=0.5"],"prior":"gaussian","prior_center":"zero","sigma":"rms","directions":100,"seed":0,"tolerance":0.01,"neighbourhood":"loss","eval_fingerprint":"4e1f"}"#)
        plan.settings.neighbourhood = .kl
        plan.settings.parameters = ["0.*"]
        let subset = JobSettings(plan: plan, evalFingerprint: "4e1f")
        let keys = [JobSettings(plan: EstimationPlan(), evalFingerprint: "4e1f").key, loss.key, subset.key]
        #expect(keys[0] == "ffa3a35c763bdf9504f6294f46ed5282581477de07db85e4dcbc977c4274e06c")
        #expect(Set(keys).count == 3)
        #expect(try JobSettings(text: loss.json.serialized()) == loss)
        #expect(try JobSettings(text: subset.json.serialized()) == subset)
    }

    /// The daemon's `[estimate]` read from a configuration file gives the key the daemon before
    /// the change stored for it (`cutoffs = [0.01, 0.1]`, `preconditioners = ["none",
    /// "adam:eps=1e-2"]`, `directions = 4`, `sigma = 0.05`, `seed = 7`, `tolerance = 0.001`, the
    /// digits eval file).
    @Test func configuredSettingsKeepTheKeyStoredBeforeTheChange() throws {
        let config = try Config(toml: """
            [estimate]
            cutoffs = [0.01, 0.1]
            preconditioners = ["none", "adam:eps=1e-2"]
            directions = 4
            sigma = 0.05
            seed = 7
            tolerance = 0.001
            """, file: "volumed.toml")
        let settings = JobSettings(plan: config.estimate, evalFingerprint: "4bbcae263555f577d056f572397d274d838981611c0f17f28629439b206d1db3")
        #expect(settings.key == "6fc8b2296a31338d7dfdb91f832ca177a650458fe72e146021772f6da7198488")
    }

    /// A job's plan reads back as the inputs it was written from, problems included.
    @Test func planRoundTripsThroughJSON() throws {
        var inputs = EstimationInputs(
            contentFiles: ["config.json", "model.safetensors"], architecture: "gpt2", activation: nil,
            plan: EstimationPlan(settings: EstimateSettings(sigma: .value(0.5), seed: 3), preconditioners: [.adam]),
            evalData: EvalDataSpec(form: .tensors, file: "data/eval.safetensors"), evalFingerprint: "ab12")
        #expect(try EstimationInputs(jobJSON: inputs.jobJSON.serialized()) == inputs)
        inputs.manifestError = CheckpointError("manifest.bad_value", file: "/r/volume.toml", "estimate.seed: must be at least 0, got -1")
        inputs.evalError = CheckpointError("eval.missing", file: nil, "no eval data")
        inputs.evalData = nil
        #expect(try EstimationInputs(jobJSON: inputs.jobJSON.serialized()) == inputs)
        inputs.evalData = EvalDataSpec(form: .text, file: "held-out.jsonl", sequenceLength: 128, sequences: 4, documents: 2..<9)
        #expect(try EstimationInputs(jobJSON: inputs.jobJSON.serialized()) == inputs)
        // A plan written before eval forms existed names a safetensors file.
        let estimate = JSONValue.object(JSONObject(inputs.plan.settingsJSON)).serialized()
        let old = try EstimationInputs(jobJSON: #"{"content_files": [], "estimate": "# + estimate + #", "eval_file": "e.safetensors"}"#)
        #expect(old.evalData == EvalDataSpec(form: .tensors, file: "e.safetensors"))
        #expect(throws: JobSettingsError.self) { try EstimationInputs(jobJSON: #"{"content_files": []}"#) }
    }
}
