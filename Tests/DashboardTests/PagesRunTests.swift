import DB
import Foundation
import Testing
@testable import Dashboard

@Suite struct PagesRunTests {
    /// Two steps, the second in two versions; a checkpoint without a step; two preconditioners
    /// at one cutoff and `none` at a second cutoff.
    private func detail() -> RunDetail {
        let c1 = checkpointRecord(1, step: 0, minute: 0)
        let c2 = checkpointRecord(2, step: 100, minute: 1)
        let c3 = checkpointRecord(3, step: 100, minute: 5)  // a newer version of step 100
        let c4 = checkpointRecord(4, step: nil, minute: 6, path: "/watch/run-a/model.safetensors")
        let none = key(), adam = key("adam", params: "eps=0.001,exponent=0.5"), coarse = key(cutoff: 0.1)
        return RunDetail(
            run: runRecord(), checkpoints: [c1, c2, c3, c4],
            points: [
                point(adam, c1, -2700), point(adam, c2, -2900),  // adam has no estimate of c3 yet
                point(none, c1, -2664.9, interval: 1.5), point(none, c2, -3012.4, interval: 1.5), point(none, c3, -3050),
                point(none, c4, -3000),
                point(coarse, c1, -10), point(coarse, c3, nil),
            ],
            jobs: QueueCounts(queued: 2, running: 1, done: 7, failed: 1))
    }

    @Test func splitsSeriesByKeyAndLabelsThemByPreconditionerAndCutoff() {
        let series = RunSeries.grouping(detail())
        #expect(series.map(\.label) == ["adam:eps=0.001,exponent=0.5 · cutoff 0.01", "none · cutoff 0.01", "none · cutoff 0.1"])
        #expect(series.map { $0.points.map(\.checkpointID) } == [[1, 2], [1, 3], [1, 3]])
        #expect(series.map { $0.stepless.map(\.checkpointID) } == [[], [4], []])
    }

    /// A loss neighbourhood or parameter subset is always named (even when every series has it)
    /// and listed after the full KL series of the same preconditioner and cutoff.
    @Test func namesNeighbourhoodsAndSubsets() {
        var loss = key(), layer = key(), both = key()
        loss.neighbourhood = "loss"
        layer.parameters = "gpt_neox.layers.0.*"
        both.neighbourhood = "loss"
        both.parameters = "0.* 2.bias"
        let labels = SeriesLabels([key(), loss, layer, both])
        #expect([key(), loss, layer, both].map(labels.label) == [
            "none · cutoff 0.01", "none · cutoff 0.01 · loss", "none · cutoff 0.01 · params: gpt_neox.layers.0.*",
            "none · cutoff 0.01 · loss, params: 0.* 2.bias",
        ])
        #expect(SeriesLabels([loss]).label(loss) == "none · cutoff 0.01 · loss")
        #expect([both, loss, layer, key()].sorted(by: SeriesLabels.precedes) == [key(), layer, loss, both])
    }

    @Test func namesEveryOtherKeyPartOnlyWhereItDiffers() {
        let keys = [key(), key(eval: "eval-sha256:99ffeeddccbbaa"), key(directions: 64), key(prior: "uniform", seed: 3)]
        let labels = SeriesLabels(keys)
        #expect(labels.differing == [.eval, .prior, .directions, .seed])
        #expect(keys.map(labels.label) == [
            "none · cutoff 0.01 · eval 3f2a9c1b · prior gaussian · 8 directions · seed 0",
            "none · cutoff 0.01 · eval 99ffeedd · prior gaussian · 8 directions · seed 0",
            "none · cutoff 0.01 · eval 3f2a9c1b · prior gaussian · 64 directions · seed 0",
            "none · cutoff 0.01 · eval 3f2a9c1b · prior uniform · 8 directions · seed 3",
        ])
        #expect(SeriesLabels([key("adam"), key()]).label(key("adam")) == "adam · cutoff 0.01")
        #expect(SeriesLabels([key(eval: "")]).label(key(eval: "")) == "none · cutoff 0.01")
        #expect(SeriesLabels([key(eval: ""), key()]).label(key(eval: "")) == "none · cutoff 0.01 · no eval data")
    }

    @Test func splitsSeriesThatDifferOnlyInEvalData() {
        let c1 = checkpointRecord(1, step: 10)
        let detail = RunDetail(run: runRecord(), checkpoints: [c1],
                               points: [point(key(), c1, -5), point(key(eval: "aaaabbbbcccc"), c1, -6)], jobs: QueueCounts())
        let html = DashboardPages.run(detail, axis: .linear)
        #expect(html.contains("<td>none · cutoff 0.01 · eval 3f2a9c1b</td>"))
        #expect(html.contains("<td>none · cutoff 0.01 · eval aaaabbbb</td>"))
        #expect(html.occurrences(of: "data-checkpoint=\"1\"") == 2)
    }

    @Test func plotsTheNewestVersionOfEachStepWithLinksToItsCheckpoint() throws {
        let svg = DashboardPages.runPlot(detail(), axis: .linear)
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.occurrences(of: "<a href=") == 6)
        #expect(svg.contains(#"<a href="/checkpoints/3" data-checkpoint="3" data-step="100">"#))
        #expect(svg.contains(#"<a href="/checkpoints/1" data-checkpoint="1" data-step="0">"#))
        // Checkpoint 2 (the older version of step 100) is drawn only where 3 has no estimate: adam's.
        #expect(svg.occurrences(of: #"data-checkpoint="2""#) == 1)
        #expect(svg.occurrences(of: #"data-checkpoint="3""#) == 2)
        #expect(!svg.contains(#"data-checkpoint="4""#))
        #expect(svg.contains("<title>step 100: -3050.00</title>"))
        #expect(svg.contains("<title>step 100: ∞</title>"))
        #expect(svg.contains("Not shown: 1 estimate(s) of checkpoints without a step."))
        #expect(svg.contains("log10 volume vs step — run-a"))
    }

    @Test func convertsIntervalsFromNatsToLog10() throws {
        let none = try #require(RunSeries.grouping(detail()).first { $0.label == "none · cutoff 0.01" })
        let interval = try #require(none.plotSeries.points.first?.interval)
        #expect(abs(interval.lowerBound - (-2666.4)) < 1e-9)
        #expect(abs(interval.upperBound - (-2663.4)) < 1e-9)
        #expect(none.plotSeries.points.last?.interval == nil)
        #expect(none.plotSeries.unplaced == 1)
    }

    @Test func listsStepsVersionsAndCheckpointsWithoutAStep() throws {
        let html = DashboardPages.run(detail(), axis: .linear)
        let table = try #require(html.between("<table id=\"checkpoints\">", "</table>"))
        #expect(table.occurrences(of: "<tr>") == 5)
        #expect(table.contains("version 1 of 2"))
        #expect(table.contains("version 2 of 2"))
        #expect(table.contains(#"<tr><td class="num">—</td><td></td><td><a href="/checkpoints/4">model.safetensors</a></td>"#))
        #expect(table.contains("<code>fp3-01234567…</code>"))
        #expect(table.contains(#"<td class="num">124,439,808</td><td>mlp</td>"#))
        #expect(table.contains("2025-02-19 21:25:00 UTC"))
        let stepless = try #require(html.between("<ul id=\"stepless\">", "</ul>"))
        #expect(stepless.contains(#"no step: <a href="/checkpoints/4">checkpoint 4</a> · none · cutoff 0.01: -3000.00"#))
        #expect(html.contains(#"<p id="jobs">Jobs: 2 queued · 1 running · 7 done · 1 failed</p>"#))
    }

    @Test func holdsThePlotLegendAndLiveUpdateScript() throws {
        let html = DashboardPages.run(detail(), axis: .linear)
        #expect(html.hasPrefix("<!doctype html>"))
        #expect(html.contains("<title>run-a · volumed</title>"))
        #expect(html.contains("<h1>Run run-a</h1>"))
        let plot = try #require(html.between("<div id=\"plot\">\n", "</div>"))
        #expect(plot.hasPrefix("<svg xmlns"))
        #expect(plot.contains(DashboardPages.runPlot(detail(), axis: .linear)))
        // The legend: full labels, colours matching the SVG's, newest values.
        #expect(plot.contains(##"stroke="#0072B2" stroke-width="2"/></svg></td><td>adam:eps=0.001,exponent=0.5 · cutoff 0.01</td><td class="num">2</td><td class="num">-2900.00</td><td class="num">100</td>"##))
        #expect(plot.contains(#"<td>none · cutoff 0.1</td><td class="num">2</td><td class="num">∞ (unbounded directions)</td>"#))
        #expect(html.contains("new EventSource('/runs/1/events').addEventListener('estimate', refresh)"))
        #expect(html.contains("const url = '/runs/1?axis=linear';"))
        #expect(html.contains("new DOMParser().parseFromString"))
        #expect(html.contains("['plot', 'checkpoints', 'jobs']"))
        // Offline: nothing loaded from elsewhere.
        #expect(!html.contains("http://") || html.occurrences(of: "http://") == html.occurrences(of: "http://www.w3.org/2000/svg"))
        #expect(!html.contains("https://") && !html.contains("<link") && !html.contains("src="))
    }

    @Test func switchesToALogStepAxis() {
        let html = DashboardPages.run(detail(), axis: .log)
        #expect(html.contains(#"<a href="/runs/1?axis=linear">linear</a> · <a href="/runs/1?axis=log" class="current">log</a>"#))
        #expect(html.contains("const url = '/runs/1?axis=log';"))
        let svg = DashboardPages.runPlot(detail(), axis: .log)
        #expect(svg.contains(">step (log scale)</text>"))
        // Step 0 (checkpoint 1, in three series) has no place on a log axis.
        #expect(!svg.contains(#"data-checkpoint="1""#))
        #expect(svg.contains("Not shown on the log step axis: 3 point(s) at step 0 or below."))
        #expect(svg.occurrences(of: "<a href=") == 3)
        let linear = DashboardPages.run(detail(), axis: .linear)
        #expect(linear.contains(#"<a href="/runs/1?axis=linear" class="current">linear</a>"#))
    }

    @Test func saysSoWhenTheRunHasNothingYet() throws {
        let empty = RunDetail(run: runRecord(), checkpoints: [], points: [], jobs: QueueCounts())
        let html = DashboardPages.run(empty, axis: .linear)
        #expect(html.contains("<p class=\"empty\">no estimates yet</p>"))
        #expect(html.contains("no checkpoints yet"))
        #expect(html.contains("<table id=\"checkpoints\">"))
        #expect(html.contains("<div id=\"plot\">\n<svg"))
        #expect(!DashboardPages.runPlot(empty, axis: .log).contains("<a "))
    }

    @Test func rendersAThousandCheckpointsInFourSeries() {
        let keys = [key(), key("adam"), key(cutoff: 0.1), key("adam", cutoff: 0.1)]
        let checkpoints = (0..<1000).map { checkpointRecord(Int64($0 + 1), step: Int64($0) * 100, minute: Double($0)) }
        let points = keys.flatMap { k in checkpoints.map { point(k, $0, -3000 - Double($0.id), interval: 2) } }
        let detail = RunDetail(run: runRecord(), checkpoints: checkpoints, points: points, jobs: QueueCounts())
        let html = DashboardPages.run(detail, axis: .log)
        #expect(html.occurrences(of: "<a href=\"/checkpoints/") == 4 * 999 + 1000)
        #expect(html.occurrences(of: "data-step=\"0\"") == 0)
    }
}
