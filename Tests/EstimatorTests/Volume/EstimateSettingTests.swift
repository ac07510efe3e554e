import Base
import Testing
@testable import Estimator

/// The one codec of `[estimate]` settings: configuration, `volume.toml`, command line and a job's
/// JSON read the same keys with the same checks.
@Suite struct EstimateSettingTests {
    private func read(_ toml: String) throws(SettingError) -> EstimateOverrides {
        let table = try! TOMLDocument.parse(toml)
        return try EstimateOverrides(table: SettingsTable(table, path: "estimate"))
    }

    @Test func readsEverySetting() throws {
        let overrides = try read("""
            cutoffs = [1e-3, 1]
            preconditioners = ["none", "adam:eps=1e-2"]
            prior = "uniform"
            prior_center = "anchor"
            sigma = "0.25"
            directions = 16
            seed = 7
            tolerance = 0.001
            neighbourhood = "loss"
            params = ["b.*", "a.weight", "b.*"]
            """)
        var expected = EstimateOverrides(
            cutoffs: [0.001, 1], preconditioners: [.none, try PreconditionerSpec(parsing: "adam:eps=0.01")], prior: .uniform,
            priorCenter: .anchor, sigma: .value(0.25), directions: 16, seed: 7, tolerance: 0.001)
        expected.neighbourhood = .loss
        expected.parameters = ["a.weight", "b.*"]
        #expect(overrides == expected)
        #expect(EstimateSetting.allCases.allSatisfy(overrides.contains))
        #expect(try read("").contains(.cutoffs) == false)
    }

    @Test(arguments: [
        ("cutoffs = [0.1, 0.1]", "estimate.cutoffs: lists the cutoff 0.1 twice"),
        ("cutoffs = [0.1, -2]", "estimate.cutoffs: every cutoff must be greater than 0 nats, got -2.0"),
        ("preconditioners = [\"none\", \"none\"]", "estimate.preconditioners: lists the preconditioner \"none\" twice"),
        ("directions = 2.5", "estimate.directions: expected an integer, found a floating-point number 2.5"),
        ("sigma = [1]", "estimate.sigma: expected \"rms\" or a positive number, found an array [ 1 ]"),
        ("seeds = 3", "unknown key 'estimate.seeds' (did you mean 'estimate.seed'?)"),
        ("neighbourhood = \"nll\"", "estimate.neighbourhood: expected \"kl\" or \"loss\", got \"nll\""),
        ("params = [\"a.* b.*\"]", "estimate.params: a parameter pattern must be non-empty and hold no whitespace, got \"a.* b.*\""),
    ])
    func explainsEachProblemOnce(toml: String, message: String) {
        #expect(#expect(throws: SettingError.self) { try read(toml) }?.description == message)
    }

    @Test func writesAndReadsAJobsJSON() throws {
        var plan = EstimationPlan(
            settings: EstimateSettings(cutoffs: [0.01, 2], prior: .uniform, priorCenter: .anchor, sigma: .value(1e-5),
                                       directions: 50, seed: 12, tolerance: 0.001),
            preconditioners: [.adam, try PreconditionerSpec(parsing: "fisher:samples=4")])
        let json = JSONObject(plan.settingsJSON)
        #expect(json.keys == ["cutoffs", "preconditioners", "prior", "prior_center", "sigma", "directions", "seed", "tolerance"])
        #expect(try EstimationPlan(settingsJSON: json) == plan)
        plan = EstimationPlan()
        #expect(try EstimationPlan(settingsJSON: JSONObject(plan.settingsJSON)) == plan)

        // The neighbourhood and parameters are written only when they are not the defaults.
        var subset = plan
        subset.settings.neighbourhood = .loss
        subset.settings.parameters = ["gpt_neox.layers.0.*"]
        let subsetJSON = JSONObject(subset.settingsJSON)
        #expect(Array(subsetJSON.keys.suffix(2)) == ["neighbourhood", "params"])
        #expect(JSONValue.object(subsetJSON).serialized().hasSuffix(#""tolerance":0.01,"neighbourhood":"loss","params":["gpt_neox.layers.0.*"]}"#))
        #expect(try EstimationPlan(settingsJSON: subsetJSON) == subset)

        var partial = JSONObject(plan.settingsJSON)
        partial["seed"] = nil
        #expect(#expect(throws: SettingError.self) { try EstimationPlan(settingsJSON: partial) }?.description == "seed: is missing")
    }

    @Test func validatesSettingsWithTheSameRules() {
        let error = #expect(throws: EstimatorError.self) { try EstimateSettings(cutoffs: [0.1, 0.1]).validate() }
        #expect(error?.code == "settings.cutoffs")
        #expect(error?.detail == "cutoffs: lists the cutoff 0.1 twice")
        #expect(#expect(throws: EstimatorError.self) { try EstimateSettings(directions: 0).validate() }?.code == "settings.directions")
        #expect(#expect(throws: EstimatorError.self) { try EstimateSettings(sigma: .value(-1)).validate() }?.code == "settings.sigma")
    }
}
