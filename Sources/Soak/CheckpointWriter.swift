import Foundation
import Glibc

/// Writes the plan's runs and checkpoints into the watch root the way trainers do: folders
/// filled in place or written under a temporary name and renamed, identical rewrites, and
/// deletions. Plain `open`/`write`/`rename` calls, so the daemon sees exactly those events.
struct CheckpointWriter: Sendable {
    let root: String
    let fixtures: FixtureFiles
    let seed: UInt64

    func path(of checkpoint: SoakPlan.Checkpoint) -> String {
        "\(root)/\(checkpoint.run)/\(checkpoint.name)"
    }

    /// The run folder with its manifest and eval data (a trainer's output folder before its
    /// first checkpoint).
    func createRun(_ run: String) throws {
        let folder = root + "/" + run
        try Self.makeFolder(folder)
        if run == SoakPlan.languageRun {
            try Self.write(fixtures.languageEval, to: folder + "/" + FixtureFiles.languageEvalName)
            try Self.write(fixtures.languageManifest, to: folder + "/volume.toml")
            return
        }
        try Self.write(fixtures.eval, to: folder + "/" + FixtureFiles.evalName)
        try Self.write(SoakPlan.hasLLC(run) ? fixtures.llcManifest : fixtures.manifest, to: folder + "/volume.toml")
    }

    func write(_ checkpoint: SoakPlan.Checkpoint) throws {
        let files = fixtures.files(for: checkpoint, seed: seed)
        let final = path(of: checkpoint)
        switch (checkpoint.layout, checkpoint.arrival) {
        case (.folder, .inPlace):
            try Self.makeFolder(final)
            for file in files { try Self.write(file.bytes, to: final + "/" + file.name) }
        case (.folder, .renamed):
            let temporary = "\(root)/\(checkpoint.run)/tmp-\(checkpoint.name)"
            try Self.makeFolder(temporary)
            for file in files { try Self.write(file.bytes, to: temporary + "/" + file.name) }
            try Self.rename(temporary, to: final)
        case (.singleFile, .inPlace):
            try Self.write(files[0].bytes, to: final)
        case (.singleFile, .renamed):
            // A hidden name: not a checkpoint until renamed.
            let temporary = "\(root)/\(checkpoint.run)/.\(checkpoint.name).partial"
            try Self.write(files[0].bytes, to: temporary)
            try Self.rename(temporary, to: final)
        }
    }

    /// Writes the checkpoint's files again with the same bytes.
    func rewrite(_ checkpoint: SoakPlan.Checkpoint, mode: SoakPlan.Rewrite.Mode) throws {
        let files = fixtures.files(for: checkpoint, seed: seed)
        let targets: [(path: String, bytes: [UInt8])] =
            switch checkpoint.layout {
            case .folder: files.map { (path(of: checkpoint) + "/" + $0.name, $0.bytes) }
            case .singleFile: [(path(of: checkpoint), files[0].bytes)]
            }
        for target in targets {
            switch mode {
            case .inPlace:
                try Self.write(target.bytes, to: target.path)
            case .replaced:
                let (folder, name) = Self.split(target.path)
                let temporary = folder + "/." + name + ".new"
                try Self.write(target.bytes, to: temporary)
                try Self.rename(temporary, to: target.path)
            }
        }
    }

    func delete(_ checkpoint: SoakPlan.Checkpoint) throws {
        let path = path(of: checkpoint)
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw SoakError("cannot delete \(path): \(error.localizedDescription)")
        }
    }

    // MARK: System calls

    private static func makeFolder(_ path: String) throws {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw SoakError.system("mkdir", path) }
    }

    /// Creates or truncates `path` and writes `bytes` into it.
    private static func write(_ bytes: [UInt8], to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw SoakError.system("open", path) }
        defer { close(descriptor) }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SoakError.system("write", path)
            }
            written += count
        }
    }

    private static func rename(_ from: String, to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw SoakError.system("rename \(from) to", to) }
    }

    private static func split(_ path: String) -> (folder: String, name: String) {
        let slash = path.lastIndex(of: "/")!
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }
}
