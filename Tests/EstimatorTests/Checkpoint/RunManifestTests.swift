import Base
import Testing
@testable import Estimator

@Suite struct RunManifestTests {
    @Test func readsFixtureManifest() throws {
        let manifest = try RunManifest(path: Fixtures.path("digits/volume.toml"))
        #expect(manifest == RunManifest(architecture: "mlp", activation: "relu", evalData: EvalDataSpec(form: .tensors, file: "digits_val.safetensors")))
    }

    @Test func readsEveryOverride() throws {
        let text = """
            [model]
            architecture = "gpt_neox"
            [estimate]
            cutoffs = [1e-3, 0.01, 1]
            preconditioners = ["none", "adam:eps=1e-3"]
            prior = "gaussian"
            prior_center = "zero"
            sigma = 0.5
            directions = 20
            seed = 0
            tolerance = 0.02
            """
        let manifest = try RunManifest(text: text, source: "volume.toml")
        #expect(manifest.architecture == "gpt_neox")
        #expect(manifest.evalData == nil)
        #expect(manifest.estimate == EstimateOverrides(
            cutoffs: [0.001, 0.01, 1], preconditioners: [.none, .adam], prior: .gaussian, priorCenter: .zero,
            sigma: .value(0.5), directions: 20, seed: 0, tolerance: 0.02))
        #expect(try RunManifest(text: "[estimate]\nsigma = \"rms\"", source: "v").estimate.sigma == .rms)
        #expect(try RunManifest(text: "", source: "v") == RunManifest())
    }

    private func rejection(_ text: String) -> CheckpointError? {
        #expect(throws: CheckpointError.self) { try RunManifest(text: text, source: "volume.toml") }
    }

    @Test func namesUnknownKeys() {
        let typo = rejection("[estimate]\ncutof = [0.01]")
        #expect(typo?.code == "manifest.unknown_key")
        #expect(typo?.description == "volume.toml: unknown key 'estimate.cutof' (did you mean 'estimate.cutoffs'?)")
        #expect(rejection("[modle]\narchitecture = \"mlp\"")?.detail == "unknown key 'modle' (did you mean 'model'?)")
        #expect(rejection("[data]\nevals = \"x\"")?.detail == "unknown key 'data.evals' (did you mean 'data.eval'?)")
        #expect(rejection("[model]\nactivaton = \"relu\"")?.detail == "unknown key 'model.activaton' (did you mean 'model.activation'?)")
        #expect(rejection("[estimate]\nwidth = 3")?.detail == "unknown key 'estimate.width'")
    }

    @Test func namesBadValues() {
        let cases: [(String, String)] = [
            ("[estimate]\ncutoffs = 0.01", "estimate.cutoffs"),
            ("[estimate]\ncutoffs = [0.01, -1]", "estimate.cutoffs"),
            ("[estimate]\ncutoffs = []", "estimate.cutoffs"),
            ("[estimate]\nsigma = \"std\"", "estimate.sigma"),
            ("[estimate]\nsigma = 0", "estimate.sigma"),
            ("[estimate]\ndirections = 0", "estimate.directions"),
            ("[estimate]\ndirections = 2.5", "estimate.directions"),
            ("[estimate]\nseed = -1", "estimate.seed"),
            ("[estimate]\ntolerance = \"tight\"", "estimate.tolerance"),
            ("[estimate]\npreconditioners = [\"adam\", 3]", "estimate.preconditioners"),
            ("[estimate]\npreconditioners = [\"adamw\"]", "estimate.preconditioners"),
            ("[estimate]\npreconditioners = [\"adam:beta=2\"]", "estimate.preconditioners"),
            ("[estimate]\nprior = \"laplace\"", "estimate.prior"),
            ("[estimate]\nprior_center = \"mean\"", "estimate.prior_center"),
            ("[estimate]\ntolerance = 1.5", "estimate.tolerance"),
            ("[estimate]\ncutoffs = [0.01, 0.01]", "estimate.cutoffs"),
            ("[model]\narchitecture = 3", "model.architecture"),
            ("model = \"mlp\"", "model"),
        ]
        for (text, key) in cases {
            let error = rejection(text)
            #expect(error?.code == "manifest.bad_value", "\(text)")
            #expect(error?.detail.hasPrefix("\(key): ") == true, "\(text): \(error?.detail ?? "")")
        }
    }

    @Test func showsTheRefusedValueAsTOML() {
        #expect(rejection("[estimate]\ncutoffs = [0.01, 0.01]")?.detail == "estimate.cutoffs: lists the cutoff 0.01 twice")
        #expect(rejection("[model]\narchitecture = { name = \"mlp\" }")?.detail
            == "model.architecture: expected a string, found a table { name = \"mlp\" }")
        #expect(rejection("[estimate]\nseed = -1")?.detail == "estimate.seed: must be at least 0, got -1")
        #expect(rejection("[estimate]\ncutoffs = 0.01")?.detail == "estimate.cutoffs: expected an array of numbers, found a floating-point number 0.01")
    }

    /// TOML allows a NUL character written as an escape; names and paths refuse it.
    @Test func refusesNULCharactersInNames() {
        let name = rejection("[model]\narchitecture = \"ml\\u0000p\"")
        #expect(name?.code == "manifest.bad_value")
        #expect(name?.detail == "model.architecture: must not contain a NUL character, got \"ml\\u0000p\"")
        #expect(rejection("[data]\neval = \"a.safetensors\\u0000.txt\"")?.code == "manifest.bad_value")
    }

    @Test func reportsTheFirstProblemInTheFile() {
        #expect(rejection("[estimate]\ntolerance = 2\ncutoffs = []")?.detail.hasPrefix("estimate.tolerance: ") == true)
        #expect(rejection("[model]\nsize = 1\n[data]\nevals = 1")?.detail == "unknown key 'model.size'")
    }

    @Test func keepsEvalFileInsideTheRun() {
        for path in ["../other/eval.safetensors", "/data/eval.safetensors", "a/../../b", "a//b"] {
            let error = rejection("[data]\neval = \"\(path)\"")
            #expect(error?.code == "manifest.bad_value", "\(path)")
        }
        #expect((try? RunManifest(text: "[data]\neval = \"data/eval.safetensors\"", source: "v"))?.evalData == EvalDataSpec(form: .tensors, file: "data/eval.safetensors"))
    }

    @Test func reportsSyntaxErrorsWithTheLine() {
        let error = rejection("[model]\narchitecture = \"mlp\"\nactivation = relu\n")
        #expect(error?.code == "manifest.syntax")
        #expect(error?.detail.hasPrefix("line 3, column") == true, "\(error?.detail ?? "")")
    }

    /// Inputs found by `fuzz-manifest` that made TOMLKit's parser (toml++) abort the process.
    @Test func refusesTOMLThatAbortedTheParser() {
        let cases: [(bytes: [UInt8], detail: String)] = [
            // "[<\0l%l[model]\narchitecture =/ \"gpt]\na[r_neo_neo\u{1}": a table header that starts with '<'.
            ([0x5B, 0x3C, 0x00, 0x6C, 0x25, 0x6C, 0x5B, 0x6D, 0x6F, 0x64, 0x65, 0x6C, 0x5D, 0x0A, 0x61, 0x72,
              0x63, 0x68, 0x69, 0x74, 0x65, 0x63, 0x74, 0x75, 0x72, 0x65, 0x20, 0x3D, 0x2F, 0x20, 0x22, 0x67,
              0x70, 0x74, 0x5D, 0x0A, 0x61, 0x5B, 0x72, 0x5F, 0x6E, 0x65, 0x6F, 0x5F, 0x6E, 0x65, 0x6F, 0x01],
             "line 1, column 2: expected a key (letters, digits, '_', '-' or a quoted string), saw '<'"),
            // "archcture =0989-05-27Tigm07:32…": a date-time whose time part starts with a letter.
            ([0x23, 0x5B, 0x20, 0x6D, 0x73, 0x5B, 0x6D, 0x6F, 0x64, 0x65, 0x6C, 0x5D, 0x0A, 0x61, 0x72, 0x63,
              0x68, 0x63, 0x74, 0x75, 0x72, 0x65, 0x20, 0x3D, 0x30, 0x39, 0x38, 0x39, 0x2D, 0x30, 0x35, 0x2D,
              0x32, 0x37, 0x54, 0x69, 0x67, 0x6D, 0x30, 0x37, 0x3A, 0x33, 0x32, 0x78, 0x37, 0x66, 0x66, 0x66,
              0x66, 0x26, 0x61, 0x66, 0x62, 0x66, 0x66, 0x3D, 0x66, 0x66, 0x66, 0x66, 0x26, 0x66, 0x3A, 0x33,
              0x32, 0x3A, 0x30, 0x30, 0x5A, 0x20, 0x30, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
              0x10, 0x10, 0x73, 0x65, 0x65, 0x64, 0x6F],
             "line 2, column 23: expected 2 digits for the hour, saw 'i'"),
        ]
        for (bytes, detail) in cases {
            let error = rejection(String(decoding: bytes, as: UTF8.self))
            #expect(error?.code == "manifest.syntax")
            #expect(error?.detail == detail)
        }
    }
}

@Suite struct EvalDataTests {
    @Test func findsManifestEvalFileAndLoadsFeatures() throws {
        let run = try RunFolder(path: Fixtures.path("digits"))
        #expect(run.manifest?.architecture == "mlp")
        #expect(try run.evalData() == EvalDataSpec(form: .tensors, file: "digits_val.safetensors"))
        let eval = try EvalDataSet(spec: try run.evalData(), runFolder: run.path, checkpoint: nil)
        #expect(eval.fingerprint == "4bbcae263555f577d056f572397d274d838981611c0f17f28629439b206d1db3")
        guard case .features(let x) = eval.data else { Issue.record("expected features"); return }
        #expect(x.shape == [773, 64])
        #expect(x.scalars[3..<5] == [0.125, 0.9375])
        #expect(eval.data.exampleCount == 773)
    }

    @Test func findsEvalTokensByNameAndLoadsIDs() throws {
        let run = try RunFolder(path: Fixtures.path("neox-tiny"))
        #expect(run.manifest == nil)
        let eval = try EvalDataSet(spec: try run.evalData(), runFolder: run.path, checkpoint: nil)
        #expect(eval.path == Fixtures.path("neox-tiny/eval_tokens.safetensors"))
        #expect(eval.fingerprint == "e3bc5ddc8b3d55b66cfbeb8270cfa80c73f6a3a932350c482ac3f4b25b64abe2")
        guard case .tokens(let ids, let mask) = eval.data else { Issue.record("expected tokens"); return }
        #expect(ids.shape == [8, 64])
        #expect(ids.scalars.prefix(10) == [102, 32, 115, 111, 117, 114, 99, 101, 95, 109])
        #expect(ids.scalars.suffix(3) == [32, 84, 121])
        #expect(mask == nil)
    }

    @Test func prefersEvalTokensOverEval() throws {
        let dir = try TemporaryDirectory()
        let tokens = try readBytes(Fixtures.path("neox-tiny/eval_tokens.safetensors"))
        try dir.write("eval.safetensors", tokens)
        #expect(try RunFolder(path: dir.path).evalData().file == "eval.safetensors")
        try dir.write("eval_tokens.safetensors", tokens)
        #expect(try RunFolder(path: dir.path).evalData().file == "eval_tokens.safetensors")
    }

    @Test func missingEvalDataNamesWhatWasLookedFor() throws {
        let dir = try TemporaryDirectory()
        let error = #expect(throws: CheckpointError.self) { try RunFolder(path: dir.path).evalData() }
        #expect(error?.code == "eval.missing")
        #expect(error?.detail == "no eval data: no volume.toml [data] eval, text or tokens, no eval_tokens.safetensors and no eval.safetensors in the run folder")

        try dir.write("volume.toml", "[data]\neval = \"val.safetensors\"\n")
        try dir.write("eval.safetensors", [0])
        let named = #expect(throws: CheckpointError.self) { try RunFolder(path: dir.path).evalData() }
        #expect(named?.code == "eval.missing")
        #expect(named?.detail == "eval data 'val.safetensors' named by [data] eval is not in the run folder")
    }

    @Test func badManifestFailsTheRun() throws {
        let dir = try TemporaryDirectory()
        try dir.write("volume.toml", "[estimate]\nseeds = 3\n")
        let error = #expect(throws: CheckpointError.self) { try RunFolder(path: dir.path) }
        #expect(error?.code == "manifest.unknown_key")
        #expect(error?.file == dir.path + "/volume.toml")
    }

    private func evalFile(_ header: String, _ data: [UInt8]) throws -> (TemporaryDirectory, String) {
        let dir = try TemporaryDirectory()
        return (dir, try dir.write("eval.safetensors", safetensorsBytes(header: header, data: data)))
    }

    private func int64s(_ values: [Int64]) -> [UInt8] { values.flatMap { le64(UInt64(bitPattern: $0)) } }

    @Test func loadsTokensWithMask() throws {
        let (dir, path) = try evalFile("""
            {"input_ids":{"dtype":"I32","shape":[1,3],"data_offsets":[0,12]},\
            "attention_mask":{"dtype":"I64","shape":[1,3],"data_offsets":[12,36]}}
            """, le32(5) + le32(0) + le32(255) + int64s([0, 1, 1]))
        _ = dir
        guard case .tokens(let ids, let mask) = try EvalDataFile(path: path).data else { Issue.record("expected tokens"); return }
        #expect(ids.scalars == [5, 0, 255])
        #expect(mask?.scalars == [0, 1, 1])
    }

    @Test func rejectsInvalidEvalData() throws {
        let cases: [(String, [UInt8], String, String)] = [
            (#"{"inputs":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, littleEndianBytes([1, 2]), "eval.bad_inputs",
             "'inputs' has shape [2]; expected [N, d] with N, d ≥ 1"),
            (#"{"inputs":{"dtype":"F32","shape":[0,2],"data_offsets":[0,0]}}"#, [], "eval.bad_inputs",
             "'inputs' has shape [0, 2]; expected [N, d] with N, d ≥ 1"),
            (#"{"inputs":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#, littleEndianBytes([1, 2, .nan, 4]), "eval.bad_inputs",
             "'inputs' has non-finite value nan at row 1, column 0"),
            (#"{"input_ids":{"dtype":"I64","shape":[1,2],"data_offsets":[0,16]}}"#, int64s([3, -1]), "eval.bad_ids",
             "'input_ids' has invalid token id -1 at row 0, position 1"),
            (#"{"input_ids":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]}}"#, littleEndianBytes([1]), "eval.bad_ids",
             "'input_ids' is F32; token ids must be I64 or I32"),
            (#"{"input_ids":{"dtype":"I64","shape":[1,2],"data_offsets":[0,16]},"attention_mask":{"dtype":"I64","shape":[1,2],"data_offsets":[16,32]}}"#,
             int64s([3, 4, 0, 0]), "eval.bad_mask", "'attention_mask' masks every position; nothing would be measured"),
            (#"{"input_ids":{"dtype":"I64","shape":[1,2],"data_offsets":[0,16]},"attention_mask":{"dtype":"I64","shape":[1,2],"data_offsets":[16,32]}}"#,
             int64s([3, 4, 1, 2]), "eval.bad_mask", "'attention_mask' has value 2 at row 0, position 1; only 0 and 1 are allowed"),
            (#"{"input_ids":{"dtype":"I64","shape":[1,2],"data_offsets":[0,16]},"attention_mask":{"dtype":"I64","shape":[2,1],"data_offsets":[16,32]}}"#,
             int64s([3, 4, 1, 1]), "eval.bad_mask", "'attention_mask' has shape [2, 1] but 'input_ids' has [1, 2]"),
            (#"{"labels":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, int64s([1]), "eval.no_inputs",
             "no 'input_ids' (token ids for language models), 'inputs' (features for MLPs), 'pixel_values' or 'images' (for vision models) tensor; the file has 'labels'"),
        ]
        for (header, data, code, detail) in cases {
            let (dir, path) = try evalFile(header, data)
            let error = #expect(throws: CheckpointError.self) { try EvalDataFile(path: path) }
            #expect(error?.code == code, "\(header)")
            #expect(error?.detail == detail)
            _ = dir
        }
    }
}
