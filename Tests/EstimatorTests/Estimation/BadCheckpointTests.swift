import Base
import Foundation
import Testing
@testable import Estimator

/// Bad input is normal input: each broken run gives a specific error that names what is wrong.
@Suite struct BadCheckpointTests {
    /// A copy of the digits run (manifest, eval data, checkpoint-100) in a temp folder.
    static func digitsRun() throws -> (TemporaryDirectory, checkpoint: String) {
        let run = try TemporaryDirectory()
        for file in ["volume.toml", "digits_val.safetensors", "checkpoint-100/model.safetensors", "checkpoint-100/optimizer.pt"] {
            try run.write(file, try readBytes(Fixtures.path("digits/" + file)))
        }
        return (run, run.path + "/checkpoint-100")
    }

    static func failure(_ path: String, _ plan: EstimationPlan = EstimationPlan()) -> (any CodedError)? {
        do {
            _ = try CheckpointEstimation(path: path, base: plan).run(threads: 1)
            Issue.record("\(path) was accepted")
            return nil
        } catch let error as any CodedError {
            return error
        } catch {
            Issue.record("not a coded error: \(error)")
            return nil
        }
    }

    static var quick: EstimationPlan {
        var plan = EstimationPlan()
        plan.settings.directions = 4
        return plan
    }

    @Test func truncatedWeightsNameTheFile() throws {
        let (run, checkpoint) = try Self.digitsRun()
        let weights = try readBytes(checkpoint + "/model.safetensors")
        try run.write("checkpoint-100/model.safetensors", Array(weights.prefix(weights.count - 100)))
        let error = try #require(Self.failure(checkpoint, Self.quick))
        #expect(error.code.hasPrefix("safetensors."))
        #expect(error.description.contains("model.safetensors"))
    }

    @Test func garbledHeaderIsASafetensorsError() throws {
        let (run, checkpoint) = try Self.digitsRun()
        var weights = try readBytes(checkpoint + "/model.safetensors")
        for i in 8..<40 { weights[i] = 0x7B }
        try run.write("checkpoint-100/model.safetensors", weights)
        let error = try #require(Self.failure(checkpoint, Self.quick))
        #expect(error.code == "safetensors.header_json")
    }

    @Test func nanWeightsNameTheTensor() throws {
        let (run, checkpoint) = try Self.digitsRun()
        var weights = try readBytes(checkpoint + "/model.safetensors")
        // The tensor's first element: after the 8-byte length, the JSON header and its begin offset.
        let headerLength = weights[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try JSONValue.parse(weights[8..<(8 + headerLength)])
        let begin = try #require(header["2.weight"]?["data_offsets"]?.arrayValue?.first?.intValue)
        let start = 8 + headerLength + begin
        let nan = withUnsafeBytes(of: Float.nan.bitPattern.littleEndian, Array.init)
        weights.replaceSubrange(start..<start + 4, with: nan)
        try run.write("checkpoint-100/model.safetensors", weights)
        let error = try #require(Self.failure(checkpoint, Self.quick))
        #expect(error.code == "model.nonfinite_weights")
        #expect(error.description.contains("'2.weight'"))
    }

    @Test func optimizerStateOfAnotherShapeNamesTheParameter() throws {
        let (run, checkpoint) = try Self.digitsRun()
        // A 32-unit hidden layer: the optimizer.pt still holds moments for 64 units.
        let sizes: [(String, [Int])] = [("0.weight", [32, 64]), ("0.bias", [32]), ("2.weight", [10, 32]), ("2.bias", [10])]
        var header = "{", data: [Float] = [], offset = 0
        for (i, (name, shape)) in sizes.enumerated() {
            let count = shape.reduce(1, *)
            header += "\(i > 0 ? "," : "")\"\(name)\":{\"dtype\":\"F32\",\"shape\":\(shape),\"data_offsets\":[\(offset),\(offset + 4 * count)]}"
            data += (0..<count).map { Float($0 % 7) * 0.01 }
            offset += 4 * count
        }
        header += "}"
        try run.write("checkpoint-100/model.safetensors", safetensorsBytes(header: header, data: littleEndianBytes(data)))
        var plan = Self.quick
        plan.preconditioners = [.adam]
        let error = try #require(Self.failure(checkpoint, plan))
        #expect(error.code == "optimizer.shape_mismatch")
        #expect(error.description.contains("0.weight"))
    }

    @Test func hostilePickleIsRefusedNamingTheGlobal() throws {
        let (run, checkpoint) = try Self.digitsRun()
        try run.write("checkpoint-100/optimizer.pt", try readBytes(Fixtures.path("neox-tiny/checkpoint-30/training_args.bin")))
        var plan = Self.quick
        plan.preconditioners = [.adam]
        let error = try #require(Self.failure(checkpoint, plan))
        #expect(error.code == "pickle.forbidden_global")
        #expect(error.description.contains("transformers.training_args.TrainingArguments"))
    }

    @Test func missingEvalDataSaysWhatWasLookedFor() throws {
        let (run, checkpoint) = try Self.digitsRun()
        try FileManager.default.removeItem(atPath: run.path + "/digits_val.safetensors")
        let named = try #require(Self.failure(checkpoint, Self.quick))
        #expect(named.code == "eval.missing")
        #expect(named.description.contains("digits_val.safetensors"))

        try run.write("volume.toml", "[model]\narchitecture = \"mlp\"\n")
        let unnamed = try #require(Self.failure(checkpoint, Self.quick))
        #expect(unnamed.code == "eval.missing")
        #expect(unnamed.description.contains("eval_tokens.safetensors") && unnamed.description.contains("eval.safetensors"))
    }

    @Test func runWithoutAModelDescriptionIsAnError() throws {
        let (run, checkpoint) = try Self.digitsRun()
        try FileManager.default.removeItem(atPath: run.path + "/volume.toml")
        try run.write("eval.safetensors", try readBytes(Fixtures.path("digits/digits_val.safetensors")))
        let error = try #require(Self.failure(checkpoint, Self.quick))
        #expect(error.code == "model.unknown_architecture")
    }

    @Test func evalInputsOfTheWrongWidthAreAnError() throws {
        let (run, checkpoint) = try Self.digitsRun()
        let inputs = [Float](repeating: 0.5, count: 3 * 32)
        try run.write("digits_val.safetensors",
                      safetensorsBytes(header: #"{"inputs":{"dtype":"F32","shape":[3,32],"data_offsets":[0,384]}}"#, data: littleEndianBytes(inputs)))
        let error = try #require(Self.failure(checkpoint, Self.quick))
        #expect(error.code == "eval.shape")
    }
}
