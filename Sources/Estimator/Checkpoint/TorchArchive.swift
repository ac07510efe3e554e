/// A `torch.save` file (`.pt`, `.bin`, `.pth`): a ZIP archive with one top folder (its name
/// varies: `archive/`, `optimizer/`, `pytorch_model/`…) holding `data.pkl`, the tensor
/// storages `data/<key>` and `byteorder`. The pickle is read by the restricted `Unpickler`.
public enum TorchArchive {
    public static func load(path: String, limits: Unpickler.Limits = Unpickler.Limits()) throws(CheckpointError) -> PickleValue {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw CheckpointError(error) }
        return try load(file: file, limits: limits)
    }

    /// Reads `file`'s bytes as a `torch.save` file; errors name `file.path`.
    public static func load(file: MappedFile, limits: Unpickler.Limits = Unpickler.Limits()) throws(CheckpointError) -> PickleValue {
        // torch.save before 1.6 wrote a bare pickle stream instead of a ZIP archive.
        if file.bytes.count >= 2, file.bytes[0] == 0x80, file.bytes[1] <= 5 {
            throw CheckpointError("checkpoint.legacy_format", file: file.path, "legacy (pre-ZIP) torch.save format is not supported; re-save it with torch 1.6 or newer")
        }
        let archive = try ZipArchive(file: file)
        return try load(archive, limits: limits)
    }

    public static func load(_ archive: ZipArchive, limits: Unpickler.Limits = Unpickler.Limits()) throws(CheckpointError) -> PickleValue {
        let path = archive.path
        let pickles = archive.entries.filter { entry in
            let parts = entry.name.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 2 && parts[1] == "data.pkl" && !parts[0].isEmpty
        }
        guard pickles.count == 1, let pickle = pickles.first else {
            throw CheckpointError("checkpoint.not_torch_archive", file: path, pickles.isEmpty
                ? "archive has no '<folder>/data.pkl' entry; not a torch.save file"
                : "archive has \(pickles.count) '<folder>/data.pkl' entries")
        }
        let prefix = String(pickle.name.dropLast("/data.pkl".count))

        if archive.entry(named: prefix + "/byteorder") != nil {
            let order = String(decoding: try archive.contents(of: prefix + "/byteorder"), as: UTF8.self)
            guard order == "little" else {
                throw CheckpointError("checkpoint.byteorder", file: path, "tensors are stored with byte order '\(order)'; only 'little' is supported")
            }
        }

        return try unpickle(try archive.contents(of: pickle.name), from: archive, folder: prefix, limits: limits)
    }

    /// Runs `data` (the archive's `data.pkl`) with storages resolved to `<folder>/data/<key>`.
    static func unpickle(
        _ data: UnsafeRawBufferPointer, from archive: ZipArchive, folder prefix: String, limits: Unpickler.Limits
    ) throws(CheckpointError) -> PickleValue {
        let path = archive.path
        return try Unpickler.load(data, source: path, limits: limits) { (key, dtype, count) throws(CheckpointError) in
            let name = "\(prefix)/data/\(key)"
            guard !key.isEmpty, !key.contains("/"), let entry = archive.entry(named: name) else {
                throw CheckpointError("checkpoint.missing_storage", file: path, "pickle refers to tensor storage '\(key)' but the archive has no entry '\(name)'")
            }
            let needed = count * dtype.byteWidth
            guard entry.size == needed else {
                throw CheckpointError("checkpoint.bad_storage", file: path, "storage entry '\(name)' has \(entry.size) bytes but \(dtype.rawValue)×\(count) needs \(needed)")
            }
            return Unpickler.Storage(bytes: try archive.contents(of: name), owner: archive)
        }
    }
}
