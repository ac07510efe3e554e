import DB

/// How the run page spaces steps on its x axis (`?axis=log`).
public enum StepAxis: String, Sendable, CaseIterable {
    case linear, log
}

/// The dashboard's HTML: whole pages, and the run plot alone for live updates. Server-rendered
/// HTML5 with inline SVG and style; every name, path and error text is escaped.
public enum DashboardPages {
    /// `/`
    public static func home(_ overview: DashboardOverview) -> String {
        HomePage(overview: overview).html
    }

    /// `/runs/<id>`; its `#plot` element holds `runPlot`, which the page's script replaces on
    /// each server-sent event of this run.
    public static func run(_ detail: RunDetail, axis: StepAxis) -> String {
        RunPage(detail, axis: axis).html
    }

    /// `/runs/<id>/plot?axis=…`: the SVG (an `<svg>` element) inside the run page's `#plot`.
    public static func runPlot(_ detail: RunDetail, axis: StepAxis) -> String {
        RunPage(detail, axis: axis).svg
    }

    /// `/checkpoints/<id>`
    public static func checkpoint(_ detail: CheckpointDetail) -> String {
        CheckpointPage(detail: detail).html
    }
}
