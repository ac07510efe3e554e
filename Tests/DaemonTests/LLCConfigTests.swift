import Base
import Config
import Estimator
import Testing

/// `[llc]` in the daemon's configuration and in a run's `volume.toml`: off unless enabled,
/// every key checked, the run's table laid over the daemon's.
@Suite struct LLCConfigTests {
    private func parse(_ toml: String) throws(ConfigError) -> Config {
        try Config(toml: toml, file: "volumed.toml")
    }

    private func error(_ toml: String) -> ConfigError? {
        do {
            _ = try parse(toml)
            return nil
        } catch {
            return error
        }
    }

    @Test func isOffByDefaultWithDevinterpsSettings() throws {
        let config = try parse("")
        #expect(config.llc.enabled == false)
        #expect(config.llc.settings == LLCSettings())
        #expect(config.llc.settings.epsilon == 1e-3)
        #expect(config.llc.settings.nbeta == nil)
    }

    @Test func readsEveryKey() throws {
        let config = try parse("""
            [llc]
            enabled = true
            epsilon = 0.0005
            gamma = 50
            nbeta = 12.5
            chains = 2
            draws = 10
            burn_in = 3
            batch_size = 16
            seed = 9
            params = ["2.*", "0.weight", "2.*"]
            """)
        var expected = LLCSettings()
        expected.epsilon = 5e-4
        expected.gamma = 50
        expected.nbeta = 12.5
        expected.chains = 2
        expected.draws = 10
        expected.burnIn = 3
        expected.batchSize = 16
        expected.seed = 9
        expected.parameters = ["0.weight", "2.*"]
        #expect(config.llc == LLCPlan(enabled: true, settings: expected))
        #expect(try parse("[llc]\nnbeta = \"auto\"\n").llc.settings.nbeta == nil)
    }

    @Test(arguments: [
        ("[llc]\nenabled = \"yes\"", "llc.enabled", "config.type", "expected a boolean"),
        ("[llc]\nepsilon = 0", "llc.epsilon", "config.value", "must be greater than 0, got 0.0"),
        ("[llc]\ngamma = -1", "llc.gamma", "config.value", "must be at least 0, got -1.0"),
        ("[llc]\nnbeta = \"fast\"", "llc.nbeta", "config.value", "expected \"auto\" or a positive number, got \"fast\""),
        ("[llc]\nnbeta = -3", "llc.nbeta", "config.value", "must be greater than 0, got -3.0"),
        ("[llc]\nnbeta = true", "llc.nbeta", "config.type", "expected \"auto\" or a number"),
        ("[llc]\nchains = 0", "llc.chains", "config.value", "must be at least 1, got 0"),
        ("[llc]\ndraws = 0", "llc.draws", "config.value", "must be at least 1, got 0"),
        ("[llc]\nburn_in = -1", "llc.burn_in", "config.value", "must be at least 0, got -1"),
        ("[llc]\nbatch_size = 0", "llc.batch_size", "config.value", "must be at least 1, got 0"),
        ("[llc]\nseed = -1", "llc.seed", "config.value", "must be at least 0, got -1"),
        ("[llc]\nparams = [\"\"]", "llc.params", "config.value", "non-empty glob"),
        ("[llc]\nparams = \"fc1.*\"", "llc.params", "config.type", "an array of strings"),
        ("[llc]\nchain = 2", "llc.chain", "config.unknown_key", "did you mean 'llc.chains'?"),
    ])
    func rejectsABadValueNamingTheKey(toml: String, key: String, code: String, reason: String) throws {
        let failure = try #require(error(toml + "\n"))
        #expect(failure.code == code)
        #expect(failure.key == key)
        #expect(failure.description.contains(reason), "\(failure.description)")
    }

    @Test func aRunsTableIsLaidOverTheDaemons() throws {
        let daemon = try parse("[llc]\nchains = 3\ndraws = 50\n").llc
        let run = try RunManifest(text: "[llc]\nenabled = true\ndraws = 10\n", source: "volume.toml")
        let plan = run.llc.applied(to: daemon)
        #expect(plan.enabled)
        #expect(plan.settings.chains == 3)
        #expect(plan.settings.draws == 10)
        // A run can also turn off what the daemon enables.
        let off = try RunManifest(text: "[llc]\nenabled = false\n", source: "volume.toml")
        #expect(off.llc.applied(to: LLCPlan(enabled: true)).enabled == false)
    }

    @Test func aRunsBadValueIsAManifestError() {
        let error = #expect(throws: CheckpointError.self) {
            try RunManifest(text: "[llc]\ndraws = 0\n", source: "volume.toml")
        }
        #expect(error?.code == "manifest.bad_value")
        #expect(error?.description.contains("llc.draws") == true)
    }

    @Test func settingsSurviveTheJobsJSON() throws {
        var settings = LLCSettings()
        settings.nbeta = 2.5
        settings.parameters = ["fc1.*"]
        settings.seed = 12
        let text = JSONValue.object(JSONObject(settings.settingsJSON)).serialized()
        let object = try #require(try JSONValue.parse(text).objectValue)
        #expect(try LLCSettings(settingsJSON: object) == settings)
        #expect(settings.nbetaRule == "2.5")
        #expect(LLCSettings().nbetaRule == "auto")
    }
}
