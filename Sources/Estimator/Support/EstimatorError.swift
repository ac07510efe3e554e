import Base

/// An estimator failure that is not about a file's format (those are `CheckpointError`): a
/// model configuration the forward pass cannot run, a degenerate preconditioner, a failed
/// eigendecomposition, a cancelled estimate. `code` is stable (`model.config`,
/// `preconditioner.degenerate`, `linalg.eigen`, `estimate.cancelled`, …) and recorded on
/// failed jobs.
public struct EstimatorError: CodedError {
    /// The code of an estimate stopped on request (shutdown, lost lease).
    public static let cancelled = "estimate.cancelled"

    public let code: String
    public let detail: String
    public init(code: String, _ detail: String) {
        self.code = code
        self.detail = detail
    }
    public var description: String { detail }
}
