/// What a job computes: shards of a volume estimate, or one LLC estimate (`jobs.kind`).
public enum JobKind: String, Sendable, CaseIterable {
    case volume, llc
}
