/// Picks and builds the model for a checkpoint: the architecture comes from the caller (a
/// command-line flag), else the run's `volume.toml` `[model]`, else `config.json` `model_type`.
public enum ModelLoader {
    public static let architectures = ["mlp", "gpt_neox", "gpt2", "llama"] + VisionModel.architectures

    public static func load(_ folder: CheckpointFolder, manifest: RunManifest?,
                            architecture: String? = nil, activation: String? = nil) throws -> any Model {
        let configType = folder.config?["model_type"]?.stringValue
        guard let chosen = architecture ?? manifest?.architecture ?? configType else {
            throw EstimatorError(code: "model.unknown_architecture",
                             "\(folder.path): cannot tell the architecture: no config.json with a model_type and no [model] architecture in the run's volume.toml")
        }
        switch chosen {
        case "mlp":
            let name = activation ?? manifest?.activation ?? "relu"
            guard let act = Activation(name: name) else {
                throw EstimatorError(code: "model.unknown_activation",
                                 "unknown activation '\(name)' (known: \(Activation.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return try MLP(weights: try folder.weights(), activation: act)
        case "gpt_neox", "gpt2", "llama":
            guard let config = folder.config, let configPath = folder.configPath else {
                throw EstimatorError.noConfig(folder.path, chosen)
            }
            let weights = try folder.weights()
            switch chosen {
            case "gpt_neox": return try GPTNeoX.load(config: config, configSource: configPath, weights: weights)
            case "gpt2": return try GPT2.load(config: config, configSource: configPath, weights: weights)
            default: return try Llama.load(config: config, configSource: configPath, weights: weights)
            }
        case "convnextv2", "convnext", "resnet":
            guard let config = folder.config, let configPath = folder.configPath else {
                throw EstimatorError.noConfig(folder.path, chosen)
            }
            return try VisionModel.load(architecture: chosen, config: config, configSource: configPath,
                                        preprocessing: try folder.imagePreprocessing(), weights: try folder.weights())
        default:
            let origin = architecture != nil ? "--architecture" : manifest?.architecture != nil ? "volume.toml [model] architecture" : "config.json model_type"
            throw EstimatorError(code: "model.unknown_architecture",
                             "\(folder.path): unsupported architecture '\(chosen)' (from \(origin); supported: \(architectures.joined(separator: ", ")))")
        }
    }
}
