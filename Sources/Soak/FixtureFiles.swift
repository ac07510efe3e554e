import Base
import Foundation

/// The bytes the soak writes: the digits run's manifest and eval data, its checkpoints 0, 100
/// and 3000 (real HF Trainer output), the damaged variants the bad checkpoints carry, and the
/// language-model run's eval tokens and checkpoint (neox-tiny's step 60).
struct FixtureFiles: Sendable {
    struct File: Sendable {
        var name: String
        var bytes: [UInt8]
    }

    static let evalName = "digits_val.safetensors"
    static let weightsName = "model.safetensors"
    static let optimizerName = "optimizer.pt"

    let manifest: [UInt8]
    /// The digits manifest with `[llc]` enabled (`SoakPlan.hasLLC`).
    var llcManifest: [UInt8] {
        manifest + Array("\n[llc]\nenabled = true\nchains = \(SoakPlan.llcChains)\ndraws = \(SoakPlan.llcDraws)\n".utf8)
    }
    let eval: [UInt8]
    static let languageEvalName = "eval_tokens.safetensors"
    let languageEval: [UInt8]
    /// The language-model run's `volume.toml`: its directions per estimate.
    let languageManifest = Array("[estimate]\ndirections = \(SoakPlan.languageDirections)\n".utf8)
    private let checkpoints: [SoakPlan.Content: [File]]
    /// A pickle naming `transformers.training_args.TrainingArguments`, which the unpickler refuses.
    private let hostilePickle: [UInt8]
    private let nanWeights: [UInt8]

    /// `fixtures` is the repository's `fixtures/` folder.
    init(fixtures: String) throws {
        let digits = fixtures + "/digits"
        manifest = try Self.read(digits + "/volume.toml")
        eval = try Self.read(digits + "/" + Self.evalName)
        var checkpoints: [SoakPlan.Content: [File]] = [:]
        let language = fixtures + "/neox-tiny"
        languageEval = try Self.read(language + "/" + Self.languageEvalName)
        for content in SoakPlan.Content.allCases {
            let folder = (content == .language ? language : digits) + "/checkpoint-\(content.rawValue)"
            let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
            checkpoints[content] = try names.map { File(name: $0, bytes: try Self.read(folder + "/" + $0)) }
            guard names.contains(Self.weightsName), names.contains(Self.optimizerName) else {
                throw SoakError("\(folder) lacks \(Self.weightsName) or \(Self.optimizerName)")
            }
        }
        self.checkpoints = checkpoints
        hostilePickle = try Self.read(fixtures + "/neox-tiny/checkpoint-30/training_args.bin")
        nanWeights = try Self.withNaN(checkpoints[.trained]!.first { $0.name == Self.weightsName }!.bytes, tensor: "2.weight")
    }

    /// What `checkpoint` consists of: its content files as a trainer writes them, damaged as
    /// its defect says; a single-file checkpoint is its weights alone.
    func files(for checkpoint: SoakPlan.Checkpoint, seed: UInt64) -> [File] {
        var files = checkpoints[checkpoint.content]!
        if checkpoint.layout == .singleFile {
            return [File(name: checkpoint.name, bytes: files.first { $0.name == Self.weightsName }!.bytes)]
        }
        guard let defect = checkpoint.defect else { return files }
        let target = defect == .hostilePickle ? Self.optimizerName : Self.weightsName
        let index = files.firstIndex { $0.name == target }!
        switch defect {
        case .truncated:
            // Cut off inside the tensor data, as by a copy that ran out of space.
            files[index].bytes = Array(files[index].bytes.prefix(9000))
        case .nanWeights:
            files[index].bytes = nanWeights
        case .hostilePickle:
            files[index].bytes = hostilePickle
        case .garbage:
            var random = SeededRandom(seed: seed ^ UInt64(checkpoint.id) &* 0x2545_F491_4F6C_DD1D)
            files[index].bytes = (0..<files[index].bytes.count).map { _ in UInt8.random(in: 0...255, using: &random) }
        }
        return files
    }

    /// `weights` (a safetensors file) with the first element of float32 `tensor` set to NaN.
    private static func withNaN(_ weights: [UInt8], tensor: String) throws -> [UInt8] {
        guard weights.count >= 8 else { throw SoakError("the digits weights are too short to be safetensors") }
        let headerLength = weights[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard headerLength > 0, 8 + headerLength <= weights.count,
              let header = try? JSONValue.parse(weights[8..<(8 + headerLength)]),
              let begin = header[tensor]?["data_offsets"]?.arrayValue?.first?.intValue,
              header[tensor]?["dtype"] == .string("F32")
        else { throw SoakError("the digits weights have no float32 tensor '\(tensor)'") }
        let start = 8 + headerLength + begin
        guard start + 4 <= weights.count else { throw SoakError("tensor '\(tensor)' lies outside the digits weights") }
        var patched = weights
        patched.replaceSubrange(start..<start + 4, with: withUnsafeBytes(of: Float.nan.bitPattern.littleEndian, Array.init))
        return patched
    }

    private static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw SoakError("cannot read fixture \(path)") }
        return Array(data)
    }
}
