import Base
import Foundation
import Glibc

/// A random-weight GPT-NeoX checkpoint written the way transformers saves `GPTNeoXForCausalLM`
/// in float16: `config.json`, `model-0000i-of-0000n.safetensors` shards of at most
/// `maxShardBytes` each and `model.safetensors.index.json`, in `<run>/checkpoint-0`, with random
/// eval tokens in the run folder. Random weights measure time and memory only: their KL
/// evaluations per direction say nothing about a trained model's.
///
/// Values are streamed to disk through a small buffer, so writing a billion parameters holds
/// megabytes, not gigabytes. A checkpoint is written under a temporary name and renamed when
/// complete; one already there with the same config is reused.
public struct SyntheticCheckpoint: Sendable {
    public let shape: PythiaShape
    /// The run folder: it holds `checkpoint-0` and `eval_tokens.safetensors`.
    public let runFolder: String
    public var maxShardBytes = 1 << 30
    public var seed: UInt64 = 0

    public init(shape: PythiaShape, runFolder: String) {
        self.shape = shape
        self.runFolder = runFolder
    }

    /// The run folder for `shape` under `root` (`<root>/pythia-70m`).
    public init(shape: PythiaShape, root: String) {
        self.init(shape: shape, runFolder: root + "/pythia-" + shape.name)
    }

    public var checkpointPath: String { runFolder + "/checkpoint-0" }
    public var evalTokensPath: String { runFolder + "/eval_tokens.safetensors" }

    /// Writes the checkpoint unless a complete one with this config is there; returns whether
    /// it wrote.
    @discardableResult
    public func prepare() throws -> Bool {
        try FileManager.default.createDirectory(atPath: runFolder, withIntermediateDirectories: true)
        let config = Array(configJSON.utf8)
        if let existing = FileManager.default.contents(atPath: checkpointPath + "/config.json"), Array(existing) == config {
            return false
        }
        let partial = runFolder + "/.checkpoint-0.partial"
        for stale in [partial, checkpointPath] where FileManager.default.fileExists(atPath: stale) {
            try FileManager.default.removeItem(atPath: stale)
        }
        try FileManager.default.createDirectory(atPath: partial, withIntermediateDirectories: false)
        let shards = shardPlan
        var weightMap: [(String, JSONValue)] = []
        for (i, shard) in shards.enumerated() {
            let name = Self.shardName(i, of: shards.count)
            try writeShard(shard, to: partial + "/" + name)
            weightMap += shard.map { (shape.tensors[$0].name, .string(name)) }
        }
        let totalSize = shape.parameterCount * 2
        let index = JSONValue.object(JSONObject([
            ("metadata", .object(JSONObject([("total_size", .int(totalSize))]))),
            ("weight_map", .object(JSONObject(weightMap.sorted { $0.0 < $1.0 }))),
        ]))
        try Self.write(Array(index.serialized(pretty: true).utf8), to: partial + "/model.safetensors.index.json")
        // Last: a folder with config.json is complete (it is also renamed into place only now).
        try Self.write(config, to: partial + "/config.json")
        guard rename(partial, checkpointPath) == 0 else {
            throw BenchmarkError(code: "bench.write", "cannot rename \(partial) to \(checkpointPath): \(String(cString: strerror(errno)))")
        }
        return true
    }

    /// Writes `rows` × `length` random token ids (int64 `input_ids`, each below the vocabulary)
    /// into the run folder, unless the same tokens are there already.
    public func writeEvalTokens(rows: Int, length: Int) throws {
        var random = SplitMix64(seed: seed ^ 0x5EED_70CE)
        var ids = [UInt8]()
        ids.reserveCapacity(rows * length * 8)
        for _ in 0..<(rows * length) {
            let id = Int64(random.next() % UInt64(shape.vocabulary))
            withUnsafeBytes(of: id.littleEndian) { ids += $0 }
        }
        let bytes = Self.safeTensors([("input_ids", "I64", [rows, length])]) + ids
        if let existing = FileManager.default.contents(atPath: evalTokensPath), Array(existing) == bytes { return }
        try FileManager.default.createDirectory(atPath: runFolder, withIntermediateDirectories: true)
        try Self.write(bytes, to: evalTokensPath)
    }

    /// Tensor indices per shard, as transformers splits a state dict: in order, a new shard
    /// when the next tensor would take the current one past the limit.
    var shardPlan: [[Int]] {
        var shards: [[Int]] = [[]]
        var bytes = 0
        for (i, tensor) in shape.tensors.enumerated() {
            let size = tensor.count * 2
            if bytes + size > maxShardBytes, !shards[shards.count - 1].isEmpty {
                shards.append([])
                bytes = 0
            }
            shards[shards.count - 1].append(i)
            bytes += size
        }
        return shards
    }

    static func shardName(_ index: Int, of count: Int) -> String {
        func five(_ n: Int) -> String { String(repeating: "0", count: max(0, 5 - String(n).count)) + String(n) }
        return "model-\(five(index + 1))-of-\(five(count)).safetensors"
    }

    var configJSON: String {
        let json = JSONValue.object(JSONObject([
            ("architectures", .array([.string("GPTNeoXForCausalLM")])),
            ("bos_token_id", .int(0)),
            ("eos_token_id", .int(0)),
            ("hidden_act", .string("gelu")),
            ("hidden_size", .int(shape.hidden)),
            ("initializer_range", .double(0.02)),
            ("intermediate_size", .int(shape.intermediate)),
            ("layer_norm_eps", .double(1e-5)),
            ("max_position_embeddings", .int(2048)),
            ("model_type", .string("gpt_neox")),
            ("num_attention_heads", .int(shape.heads)),
            ("num_hidden_layers", .int(shape.layers)),
            ("rotary_emb_base", .int(10000)),
            ("rotary_pct", .double(0.25)),
            ("tie_word_embeddings", .bool(false)),
            ("torch_dtype", .string("float16")),
            ("use_cache", .bool(true)),
            ("use_parallel_residual", .bool(true)),
            ("vocab_size", .int(shape.vocabulary)),
            // Not read by volumed: tells a synthetic checkpoint from a trained one.
            ("volumed_synthetic_seed", .int(Int(truncatingIfNeeded: seed))),
        ]))
        return json.serialized(pretty: true) + "\n"
    }

    /// One shard: its header, then each tensor's float16 values generated a buffer at a time.
    private func writeShard(_ indices: [Int], to path: String) throws {
        let tensors = indices.map { shape.tensors[$0] }
        let header = Self.safeTensors(tensors.map { ($0.name, "F16", $0.shape) })
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw BenchmarkError(code: "bench.write", "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        try header.withUnsafeBytes { try Self.write($0, descriptor, path) }
        let buffer = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: 1 << 20)
        defer { buffer.deallocate() }
        for (index, tensor) in zip(indices, tensors) {
            // Seeded per tensor: a tensor's values do not depend on how the shards are cut.
            var random = SplitMix64(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
            var left = tensor.count
            while left > 0 {
                let n = min(left, buffer.count)
                switch tensor.fill {
                case .random: Self.fillNormal(buffer.baseAddress!, count: n, standardDeviation: 0.02, &random)
                case .ones: buffer.baseAddress!.update(repeating: Float16(1).bitPattern, count: n)
                case .zeros: buffer.baseAddress!.update(repeating: 0, count: n)
                }
                try Self.write(UnsafeRawBufferPointer(start: buffer.baseAddress!, count: n * 2), descriptor, path)
                left -= n
            }
        }
    }

    /// float16 values ≈ N(0, sd²): the centred sum of four 16-bit uniforms (Irwin–Hall: the
    /// normal's mean and variance, tails cut at ±3.46 sd), one 64-bit draw per value — fast
    /// enough to write a billion parameters in seconds.
    static func fillNormal(_ out: UnsafeMutablePointer<UInt16>, count: Int, standardDeviation: Float, _ random: inout SplitMix64) {
        // A 16-bit uniform has variance 65536²/12; the sum of four, 65536²/3.
        let scale = standardDeviation / (65536 / Float(3).squareRoot())
        let mean: Float = 2 * 65535
        for i in 0..<count {
            var r = random.next()
            var sum: UInt64 = 0
            for _ in 0..<4 {
                sum += r & 0xFFFF
                r >>= 16
            }
            out[i] = Float16((Float(sum) - mean) * scale).bitPattern
        }
    }

    /// A safetensors header (length and JSON, padded to 8 bytes) for tensors laid out back to back.
    static func safeTensors(_ tensors: [(name: String, dtype: String, shape: [Int])]) -> [UInt8] {
        var entries: [(String, JSONValue)] = [("__metadata__", .object(JSONObject([("format", .string("pt"))])))]
        var offset = 0
        for t in tensors {
            let size = t.shape.reduce(1, *) * (t.dtype == "I64" ? 8 : 2)
            entries.append((t.name, .object(JSONObject([
                ("dtype", .string(t.dtype)), ("shape", .array(t.shape.map { .int($0) })),
                ("data_offsets", .array([.int(offset), .int(offset + size)])),
            ]))))
            offset += size
        }
        var json = Array(JSONValue.object(JSONObject(entries)).serialized().utf8)
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        return withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init) + json
    }

    private static func write(_ bytes: [UInt8], to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw BenchmarkError(code: "bench.write", "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        try bytes.withUnsafeBytes { try write($0, descriptor, path) }
    }

    private static func write(_ bytes: UnsafeRawBufferPointer, _ descriptor: Int32, _ path: String) throws {
        var written = 0
        while written < bytes.count {
            let n = Glibc.write(descriptor, bytes.baseAddress! + written, bytes.count - written)
            if n < 0 {
                if errno == EINTR { continue }
                throw BenchmarkError(code: "bench.write", "cannot write \(path): \(String(cString: strerror(errno)))")
            }
            written += n
        }
    }
}

/// SplitMix64: a fast seeded generator (one multiply-xorshift chain per 64 bits).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
