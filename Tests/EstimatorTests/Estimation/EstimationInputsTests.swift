import Foundation
import Testing
@testable import Estimator

/// Inputs resolved once (when the daemon schedules a checkpoint) and loaded later only if the
/// files are still those.
@Suite struct EstimationInputsTests {
    /// A copy of the digits run with checkpoint-100: the files a test may change.
    func digitsRun() throws -> (TemporaryDirectory, checkpoint: String) {
        let dir = try TemporaryDirectory()
        for name in ["volume.toml", "digits_val.safetensors", "checkpoint-100/model.safetensors", "checkpoint-100/optimizer.pt",
                     "checkpoint-100/trainer_state.json"] {
            try dir.write("digits/" + name, try readBytes(Fixtures.path("digits/" + name)))
        }
        return (dir, dir.path + "/digits/checkpoint-100")
    }

    var base: EstimationPlan {
        var plan = EstimationPlan(preconditioners: [.none, .adam])
        plan.settings.directions = 3
        return plan
    }

    static let fingerprint = "0d4068739edff6847f8f51e1135cdddb78ed76eec76cbdac8874d733be7b4b61"

    @Test func resolvesTheRunWithoutReadingTheEvalData() throws {
        let path = Fixtures.path("digits/checkpoint-100")
        let inputs = EstimationInputs(checkpoint: path, folder: try CheckpointFolder(path: path), base: base)
        #expect(inputs == EstimationInputs(
            contentFiles: ["model.safetensors", "optimizer.pt"], architecture: "mlp", activation: "relu", plan: base,
            evalData: EvalDataSpec(form: .tensors, file: "digits_val.safetensors")))
        #expect(inputs.evalData?.path(runFolder: Fixtures.path("digits")) == Fixtures.path("digits/digits_val.safetensors"))
    }

    @Test func hashesEvalBytesWithoutParsingThem() throws {
        let dir = try TemporaryDirectory()
        let file = try dir.write("eval.safetensors", "hello")
        #expect(try EvalDataFile.fingerprint(ofFile: file) == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        #expect(try EvalDataFile.fingerprint(ofFile: Fixtures.path("digits/digits_val.safetensors"))
            == (try EvalDataFile(path: Fixtures.path("digits/digits_val.safetensors")).fingerprint))
    }

    /// Problems met while resolving are kept, and thrown where loading would meet them.
    @Test func keepsReadingProblemsForTheEstimate() throws {
        let (dir, checkpoint) = try digitsRun()
        defer { withExtendedLifetime(dir) {} }
        try dir.write("digits/volume.toml", "[estimate]\nseeds = 3\n")
        let badManifest = EstimationInputs(checkpoint: checkpoint, folder: try CheckpointFolder(path: checkpoint), base: base)
        #expect(badManifest.manifestError?.code == "manifest.unknown_key")
        let thrown = #expect(throws: CheckpointError.self) {
            try CheckpointEstimation(path: checkpoint, inputs: badManifest, fingerprint: Self.fingerprint)
        }
        #expect(thrown == badManifest.manifestError)

        try dir.write("digits/volume.toml", "[model]\narchitecture = \"mlp\"\n")
        try FileManager.default.removeItem(atPath: dir.path + "/digits/digits_val.safetensors")
        let noEval = EstimationInputs(checkpoint: checkpoint, folder: try CheckpointFolder(path: checkpoint), base: base)
        #expect(noEval.manifestError == nil)
        #expect(noEval.evalError?.code == "eval.missing")
        let missing = #expect(throws: CheckpointError.self) { try CheckpointEstimation(path: checkpoint, inputs: noEval, fingerprint: nil) }
        #expect(missing?.code == "eval.missing")
    }

    @Test func loadsWhatWasFingerprinted() throws {
        let (dir, checkpoint) = try digitsRun()
        defer { withExtendedLifetime(dir) {} }
        var inputs = EstimationInputs(checkpoint: checkpoint, folder: try CheckpointFolder(path: checkpoint), base: base)
        inputs.evalFingerprint = "4bbcae263555f577d056f572397d274d838981611c0f17f28629439b206d1db3"
        let estimation = try CheckpointEstimation(path: checkpoint, inputs: inputs, fingerprint: Self.fingerprint)
        #expect(estimation.plan == base)
        #expect(estimation.model.architecture == "mlp")
        try estimation.checkUnchanged()
    }

    @Test func refusesACheckpointWhoseContentChanged() throws {
        let (dir, checkpoint) = try digitsRun()
        defer { withExtendedLifetime(dir) {} }
        let inputs = EstimationInputs(checkpoint: checkpoint, folder: try CheckpointFolder(path: checkpoint), base: base)
        try dir.write("digits/checkpoint-100/optimizer.pt", try readBytes(Fixtures.path("digits/checkpoint-3000/optimizer.pt")))
        let changed = #expect(throws: CheckpointError.self) {
            try CheckpointEstimation(path: checkpoint, inputs: inputs, fingerprint: Self.fingerprint)
        }
        #expect(changed?.code == "checkpoint.changed_since_scheduled")
        #expect(changed?.detail.contains("instead of \(Self.fingerprint)") == true)

        // A content file that was not there when the inputs were resolved.
        try dir.write("digits/checkpoint-100/config.json", "{}")
        let added = #expect(throws: CheckpointError.self) { try CheckpointEstimation(path: checkpoint, inputs: inputs, fingerprint: nil) }
        #expect(added?.code == "checkpoint.changed_since_scheduled")
    }

    @Test func refusesEvalDataWhoseBytesChanged() throws {
        let (dir, checkpoint) = try digitsRun()
        defer { withExtendedLifetime(dir) {} }
        var inputs = EstimationInputs(checkpoint: checkpoint, folder: try CheckpointFolder(path: checkpoint), base: base)
        inputs.evalFingerprint = String(repeating: "0", count: 64)
        let error = #expect(throws: CheckpointError.self) {
            try CheckpointEstimation(path: checkpoint, inputs: inputs, fingerprint: Self.fingerprint)
        }
        #expect(error?.code == "eval.changed_since_scheduled")
    }

    /// A file rewritten while the estimate runs (the optimizer state is read when the `adam`
    /// preconditioner is built) is noticed when the estimate is done.
    @Test func noticesAContentFileRewrittenDuringTheEstimate() throws {
        let (dir, checkpoint) = try digitsRun()
        defer { withExtendedLifetime(dir) {} }
        let inputs = EstimationInputs(checkpoint: checkpoint, folder: try CheckpointFolder(path: checkpoint), base: base)
        let estimation = try CheckpointEstimation(path: checkpoint, inputs: inputs, fingerprint: Self.fingerprint)
        try dir.write("digits/checkpoint-100/optimizer.pt", try readBytes(Fixtures.path("digits/checkpoint-3000/optimizer.pt")))
        #expect(throws: CheckpointError.self) { try estimation.checkUnchanged() }
    }
}

extension EstimationInputsTests {
    /// Rewriting the same bytes (as a trainer re-saving a checkpoint does) is not a change.
    @Test func acceptsAnIdenticalRewriteDuringTheEstimate() throws {
        let (dir, checkpoint) = try digitsRun()
        defer { withExtendedLifetime(dir) {} }
        let inputs = EstimationInputs(checkpoint: checkpoint, folder: try CheckpointFolder(path: checkpoint), base: base)
        let estimation = try CheckpointEstimation(path: checkpoint, inputs: inputs, fingerprint: Self.fingerprint)
        let optimizer = checkpoint + "/optimizer.pt"
        let bytes = try readBytes(optimizer)
        try FileManager.default.removeItem(atPath: optimizer)
        try dir.write("digits/checkpoint-100/optimizer.pt", bytes)
        try estimation.checkUnchanged()
    }
}
