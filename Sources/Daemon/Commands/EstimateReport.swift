import Base
import Foundation
import Estimator

/// How `volumed estimate` prints its results.
enum EstimateReport {
    /// What both `volumed estimate --json` and `volumed llc --json` open with: the checkpoint,
    /// its step, model and eval data file.
    static func checkpointFields(_ estimation: CheckpointEstimation) -> JSONObject {
        var o = JSONObject()
        o["checkpoint"] = .string(estimation.folder.path)
        o["step"] = estimation.folder.step.map(JSONValue.int) ?? .null
        o["architecture"] = .string(estimation.model.architecture)
        o["n_params"] = .int(estimation.model.layout.count)
        o["eval_data"] = .string(estimation.eval.path)
        return o
    }

    static func json(_ estimation: CheckpointEstimation, _ outcomes: [PreconditionerOutcome],
                     includeSamples: Bool) -> JSONValue {
        var o = checkpointFields(estimation)
        o["eval"] = estimation.eval.provenance.json
        o["neighbourhood"] = .string(estimation.plan.settings.neighbourhood.rawValue)
        o["params"] = .array(estimation.plan.settings.parameters.map(JSONValue.string))
        o["n_moved"] = .int(estimation.anchor.count)
        o["results"] = .array(outcomes.flatMap { $0.json(includeSamples: includeSamples) })
        return .object(o)
    }

    /// `  (text, tokenizer …/tokenizer.json, 20 × 512 tokens, EOS 0)` for packed eval data,
    /// `  (128 images 32×32×3, pixel_values)` for images.
    private static func describe(_ eval: EvalProvenance, _ data: EvalData) -> String {
        if case .images(let batch) = data {
            let kind = if case .raw = batch.pixels { "raw images, preprocessed by preprocessor_config.json" } else { "pixel_values" }
            return "  (\(batch.count) images \(batch.imageShape), \(kind))"
        }
        guard eval.form != .tensors else { return "" }
        var parts = [eval.form.rawValue]
        if let tokenizer = eval.tokenizer { parts.append("tokenizer \(tokenizer)") }
        parts.append("\(eval.rows) × \(eval.rowLength) tokens")
        parts.append(eval.eos.map { "EOS \($0)" } ?? "no EOS")
        if let documents = eval.documents { parts.append("documents \(EvalDataSpec.documentsText(documents))") }
        return "  (" + parts.joined(separator: ", ") + ")"
    }

    static func table(_ estimation: CheckpointEstimation, _ outcomes: [PreconditionerOutcome],
                      includeSamples: Bool) -> String {
        let s = estimation.plan.settings
        var lines: [String] = []
        let step = estimation.folder.step.map { ", step \($0)" } ?? ""
        lines.append("checkpoint  \(estimation.folder.path)  (\(estimation.model.architecture), \(estimation.model.layout.count) parameters\(step))")
        lines.append("eval data   \(estimation.eval.path)\(describe(estimation.eval.provenance, estimation.eval.data))")
        lines.append("cost        " + (s.neighbourhood == .kl ? "kl (mean KL from the checkpoint's predictions)"
                                       : "loss (increase of the mean cross-entropy, floored at 0)"))
        if let selection = estimation.selection {
            lines.append("params      \(selection.patterns.joined(separator: " "))  (\(selection.count) of \(estimation.model.layout.count) parameters move)")
        }
        var prior = s.prior.rawValue
        if s.prior == .gaussian {
            let sigma = outcomes.lazy.compactMap { o -> Double? in
                if case .estimated(let e) = o { return e.first?.sigma }
                return nil
            }.first
            prior += ", centre \(s.priorCenter.rawValue), σ = \(sigma.map { format($0, 4) } ?? "?") (\(s.sigma))"
        }
        lines.append("prior       \(prior)")
        let stream = s.directionStream == .philox ? "" : " (\(s.directionStream.rawValue) stream)"
        lines.append("search      \(s.directions) directions, seed \(s.seed)\(stream), tolerance \(format(s.tolerance, 3))")
        lines.append("")
        let header = ["preconditioner", "cutoff", "log10 volume", "95% interval (log10)", "bits", "ess", "KL evals/dir", "seconds"]
        var rows: [[String]] = []
        for outcome in outcomes {
            switch outcome {
            case .skipped(let spec, let reason):
                rows.append([spec.description, "—", "skipped: \(reason)"])
            case .estimated(let estimates):
                for e in estimates {
                    let a = e.aggregate
                    let interval = a.interval.map { "[\(format($0.low / 2.302585092994046, 1)), \(format($0.high / 2.302585092994046, 1))]" } ?? "—"
                    var row = [e.preconditioner.description, format(e.cutoff, 4),
                               a.log10Volume.map { format($0, 1) } ?? "∞ (unbounded)", interval,
                               a.bits.map { format($0, 1) } ?? "—", a.ess.map { format($0, 2) } ?? "—",
                               format(Double(e.klEvaluations) / Double(e.directions), 2), format(e.seconds, 3)]
                    if e.unbounded > 0 { row[2] += "  (\(e.unbounded) unbounded)" }
                    if e.nonfinite > 0 { row[7] += "  (\(e.nonfinite) NaN/inf evals)" }
                    rows.append(row)
                }
            }
        }
        lines.append(contentsOf: align([header] + rows))
        if includeSamples {
            for case .estimated(let estimates) in outcomes {
                for e in estimates {
                    lines.append("")
                    lines.append("samples: \(e.preconditioner), cutoff \(format(e.cutoff, 4))")
                    lines.append(contentsOf: align([["direction", "radius", "log-estimate (nats)", "KL evals"]] + e.samples.map {
                        [String($0.direction), $0.radius.isFinite ? format($0.radius, 6) : "∞", format($0.logEstimate, 3), String($0.klEvaluations)]
                    }))
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Left-aligned columns separated by two spaces; short rows (skips) just run on.
    private static func align(_ rows: [[String]]) -> [String] {
        let columns = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in rows where row.count == columns {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
    }
}

/// `value` with `digits` decimals, or in scientific notation when it is very small or large.
func format(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "∞" : "-∞") }
    let magnitude = abs(value)
    if magnitude != 0 && (magnitude < 1e-3 || magnitude >= 1e9) {
        return String(format: "%.\(max(digits, 2))e", value)
    }
    return String(format: "%.\(digits)f", value)
}
