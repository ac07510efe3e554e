/// The text of `volumed report`: one block per series with step, log10 volume, its 95%
/// interval and the change from the previous step, and the run's LLC at that step when it has one.
struct VolumeSeriesTable {
    let series: [VolumeSeries]
    /// Per run id, its full-parameter LLC by step: an LLC column beside the volume.
    var llc: [Int64: [Int64: LLCSeries.Point]] = [:]

    var lines: [String] {
        var lines: [String] = []
        for (i, s) in series.enumerated() {
            if i > 0 { lines.append("") }
            lines.append("\(s.run)  cutoff \(s.cutoff)  preconditioner \(s.seriesName)")
            // The LLC is of the full network: it sits beside the full KL series only.
            let llcPoints = s.subset == nil ? llc[s.runID] : nil
            var rows = [["step", "log10 volume", "95% interval", "change"] + (llcPoints == nil ? [] : ["LLC"])]
            var previous: Double?
            for point in s.points {
                var change = "—"
                if let previous, let current = point.log10Volume { change = signed(current - previous) }
                rows.append([
                    String(point.step),
                    point.log10Volume.map { format($0, 2) } ?? "∞ (unbounded)",
                    point.interval.map { "[\(format($0.lowerBound, 2)), \(format($0.upperBound, 2))]" } ?? "—",
                    change,
                ] + (llcPoints.map { [$0[point.step].map(LLCSeries.cell) ?? "—"] } ?? []))
                previous = point.log10Volume
            }
            if s.points.isEmpty {
                lines.append("  (no estimate with a known step)")
            } else {
                lines += aligned(rows, rightAligned: [true, true, false, true] + (llcPoints == nil ? [] : [true])).map { "  " + $0 }
            }
            if !s.checkpointsWithoutStep.isEmpty {
                let ids = s.checkpointsWithoutStep.map(String.init).joined(separator: ", ")
                lines.append("  not shown: \(s.checkpointsWithoutStep.count) checkpoint(s) without a step (id \(ids))")
            }
        }
        return lines
    }

    private func signed(_ value: Double) -> String {
        value > 0 ? "+" + format(value, 2) : format(value, 2)
    }

    /// Columns padded to their widest cell (counted in characters, so "∞" and "—" are one).
    private func aligned(_ rows: [[String]], rightAligned: [Bool]) -> [String] {
        let widths = rightAligned.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.indices.map { c in
                let padding = String(repeating: " ", count: widths[c] - row[c].count)
                return rightAligned[c] ? padding + row[c] : row[c] + padding
            }
            .joined(separator: "  ")
        }
    }
}
