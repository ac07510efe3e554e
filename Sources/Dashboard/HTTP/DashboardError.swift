import Base

/// The dashboard could not start: its address cannot be listened on.
public struct DashboardError: CodedError {
    public var address: String
    public var detail: String

    public init(address: String, detail: String) {
        self.address = address
        self.detail = detail
    }

    public var code: String { "http.listen" }
    public var description: String { "cannot listen on \(address) for the dashboard ([http] listen): \(detail)" }
}
