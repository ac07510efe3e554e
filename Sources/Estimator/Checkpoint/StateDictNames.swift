/// Parameter names as training wrappers leave them in a state dict.
public enum StateDictNames {
    /// Leading components that wrappers add and the model does not know: `module.`
    /// (DistributedDataParallel, DataParallel) and `_orig_mod.` (`torch.compile`), in any order
    /// and number.
    public static let wrapperPrefixes = ["module.", "_orig_mod."]

    /// `name` without its wrapper prefixes: `module._orig_mod.gpt_neox.embed_in.weight` →
    /// `gpt_neox.embed_in.weight`.
    public static func unwrapped(_ name: String) -> String {
        var rest = Substring(name)
        while let prefix = wrapperPrefixes.first(where: { rest.hasPrefix($0) && rest.count > $0.count }) {
            rest = rest.dropFirst(prefix.count)
        }
        return String(rest)
    }
}
