import DB

/// How the run page spaces steps on its x axis (`?axis=log`).
public enum StepAxis: String, Sendable, CaseIterable {
    case linear, log
}

/// The dashboard's HTML: whole pages, and the run plot alone for live updates.
/// CONTRACT STUB: helper `pages` implements these (signatures fixed).
public enum DashboardPages {
    /// `/`
    public static func home(_ overview: DashboardOverview) -> String { "<!doctype html><title>volumed</title>" }

    /// `/runs/<id>`; its `#plot` element holds `runPlot`, which the page's script replaces on
    /// each server-sent event of this run.
    public static func run(_ detail: RunDetail, axis: StepAxis) -> String { "<!doctype html><title>run</title>" }

    /// `/runs/<id>/plot?axis=…`: the SVG (an `<svg>` element) inside the run page's `#plot`.
    public static func runPlot(_ detail: RunDetail, axis: StepAxis) -> String { "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>" }

    /// `/checkpoints/<id>`
    public static func checkpoint(_ detail: CheckpointDetail) -> String { "<!doctype html><title>checkpoint</title>" }
}
