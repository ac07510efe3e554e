import Testing
@testable import Estimator

/// Layouts in `named_parameters()` order, written out from the fixtures README.
enum FixtureLayouts {
    static let digits = ParameterLayout([
        ("0.weight", [64, 64], false), ("0.bias", [64], false), ("2.weight", [10, 64], false), ("2.bias", [10], false),
    ])

    static let neox: ParameterLayout = {
        var entries: [(name: String, shape: [Int], inLayerNormModule: Bool)] = [("gpt_neox.embed_in.weight", [256, 64], false)]
        for i in 0..<2 {
            let p = "gpt_neox.layers.\(i)."
            entries += [
                (p + "input_layernorm.weight", [64], true), (p + "input_layernorm.bias", [64], true),
                (p + "post_attention_layernorm.weight", [64], true), (p + "post_attention_layernorm.bias", [64], true),
                (p + "attention.query_key_value.weight", [192, 64], false), (p + "attention.query_key_value.bias", [192], false),
                (p + "attention.dense.weight", [64, 64], false), (p + "attention.dense.bias", [64], false),
                (p + "mlp.dense_h_to_4h.weight", [256, 64], false), (p + "mlp.dense_h_to_4h.bias", [256], false),
                (p + "mlp.dense_4h_to_h.weight", [64, 256], false), (p + "mlp.dense_4h_to_h.bias", [64], false),
            ]
        }
        entries += [("gpt_neox.final_layer_norm.weight", [64], true), ("gpt_neox.final_layer_norm.bias", [64], true), ("embed_out.weight", [256, 64], false)]
        return ParameterLayout(entries)
    }()

    /// GPT-2's `ln_*` are LayerNorm modules; `layerNormByModule: false` mimics a name-only rule.
    static func gpt2(layerNormByModule: Bool = true) -> ParameterLayout {
        let ln = layerNormByModule
        var entries: [(name: String, shape: [Int], inLayerNormModule: Bool)] = [
            ("transformer.wte.weight", [256, 48], false), ("transformer.wpe.weight", [128, 48], false),
        ]
        for i in 0..<2 {
            let p = "transformer.h.\(i)."
            entries += [
                (p + "ln_1.weight", [48], ln), (p + "ln_1.bias", [48], ln),
                (p + "attn.c_attn.weight", [48, 144], false), (p + "attn.c_attn.bias", [144], false),
                (p + "attn.c_proj.weight", [48, 48], false), (p + "attn.c_proj.bias", [48], false),
                (p + "ln_2.weight", [48], ln), (p + "ln_2.bias", [48], ln),
                (p + "mlp.c_fc.weight", [48, 192], false), (p + "mlp.c_fc.bias", [192], false),
                (p + "mlp.c_proj.weight", [192, 48], false), (p + "mlp.c_proj.bias", [48], false),
            ]
        }
        entries += [("transformer.ln_f.weight", [48], ln), ("transformer.ln_f.bias", [48], ln)]
        return ParameterLayout(entries)
    }

    /// RMSNorm is not a torch LayerNorm: only the names exclude the norms from weight decay.
    static let llama: ParameterLayout = {
        var entries: [(name: String, shape: [Int], inLayerNormModule: Bool)] = [("model.embed_tokens.weight", [256, 48], false)]
        for i in 0..<2 {
            let p = "model.layers.\(i)."
            entries += [
                (p + "self_attn.q_proj.weight", [48, 48], false), (p + "self_attn.k_proj.weight", [24, 48], false),
                (p + "self_attn.v_proj.weight", [24, 48], false), (p + "self_attn.o_proj.weight", [48, 48], false),
                (p + "mlp.gate_proj.weight", [128, 48], false), (p + "mlp.up_proj.weight", [128, 48], false),
                (p + "mlp.down_proj.weight", [48, 128], false),
                (p + "input_layernorm.weight", [48], false), (p + "post_attention_layernorm.weight", [48], false),
            ]
        }
        entries += [("model.norm.weight", [48], false), ("lm_head.weight", [256, 48], false)]
        return ParameterLayout(entries)
    }()
}

@Suite struct OptimizerStateTests {
    private func element(_ moments: [Float], _ layout: ParameterLayout, _ name: String, _ i: Int) throws -> Float {
        let parameter = try #require(layout[name])
        return moments[parameter.offset + (i >= 0 ? i : parameter.count + i)]
    }

    @Test func mapsOneGroupInParameterOrder() throws {
        let optimizer = try OptimizerState(path: Fixtures.path("digits/checkpoint-100/optimizer.pt"))
        #expect(optimizer.groups.count == 1)
        #expect(optimizer.state[0]?.step == 100)
        let layout = FixtureLayouts.digits
        let moments = try optimizer.moments(for: layout)
        #expect(moments.expAvg.count == 4810)
        #expect(moments.expAvgSq.count == 4810)
        #expect(moments.expAvg[0..<3] == [0.0, -9.712452083476819e-06, 9.50347603065893e-05])
        #expect(try element(moments.expAvgSq, layout, "2.bias", -2) == 2.720496468100464e-07)
        #expect(try element(moments.expAvgSq, layout, "2.bias", -1) == 5.317239128999063e-07)
    }

    @Test func emptyStateIsNoAdamState() throws {
        let path = Fixtures.path("digits/checkpoint-0/optimizer.pt")
        let optimizer = try OptimizerState(path: path)
        #expect(optimizer.state.isEmpty)
        let error = #expect(throws: CheckpointError.self) { try optimizer.moments(for: FixtureLayouts.digits) }
        #expect(error?.code == "optimizer.no_state")
        #expect(error?.description == "\(path): no Adam state (step 0?)")
    }

    @Test func mapsNeoXTrainerGroups() throws {
        let layout = FixtureLayouts.neox
        #expect(layout.count == 132_864)
        let moments = try OptimizerState(path: Fixtures.path("neox-tiny/checkpoint-30/optimizer.pt")).moments(for: layout)
        // State 9 is the output head (last of group 0), 10 the first LayerNorm weight (first of group 1).
        #expect(try element(moments.expAvgSq, layout, "embed_out.weight", 0) == 4.048883184282204e-08)
        #expect(try element(moments.expAvgSq, layout, "embed_out.weight", 1) == 6.718718736919982e-08)
        #expect(try element(moments.expAvgSq, layout, "gpt_neox.layers.0.input_layernorm.weight", 0) == 6.552909603829704e-11)
        #expect(try element(moments.expAvg, layout, "gpt_neox.final_layer_norm.bias", -1) == -0.008217222057282925)
    }

    @Test func mapsGPT2GroupsByLayerNormModule() throws {
        let layout = FixtureLayouts.gpt2()
        #expect(layout.count == 75_072)
        let optimizer = try OptimizerState(path: Fixtures.path("gpt2-tiny/checkpoint-150/optimizer.pt"))
        let moments = try optimizer.moments(for: layout)
        #expect(try element(moments.expAvg, layout, "transformer.wte.weight", 0) == -0.0003734926285687834)
        #expect(try element(moments.expAvg, layout, "transformer.wpe.weight", 1) == -0.00010082688822876662)
        #expect(try element(moments.expAvgSq, layout, "transformer.h.0.ln_1.weight", 1) == 6.388778928112515e-08)
        #expect(try element(moments.expAvg, layout, "transformer.h.0.ln_1.bias", 0) == 9.383755968883634e-05)
        #expect(try element(moments.expAvgSq, layout, "transformer.ln_f.bias", -1) == 1.4555867892340757e-05)

        // A name-only "bias or layernorm" rule puts ln_* weights in the decay group: refused, not misaligned.
        let error = #expect(throws: CheckpointError.self) { try optimizer.moments(for: FixtureLayouts.gpt2(layerNormByModule: false)) }
        #expect(error?.code == "optimizer.bad_groups")
    }

    @Test func mapsLlamaGroupsByName() throws {
        let layout = FixtureLayouts.llama
        #expect(layout.count == 75_504)
        let moments = try OptimizerState(path: Fixtures.path("llama-tiny/checkpoint-150/optimizer.pt")).moments(for: layout)
        #expect(try element(moments.expAvgSq, layout, "lm_head.weight", -1) == 1.4095921585521864e-07)
        #expect(try element(moments.expAvgSq, layout, "model.norm.weight", 0) == 1.4497544498226489e-06)
        #expect(try element(moments.expAvgSq, layout, "model.norm.weight", 1) == 5.0684859161265194e-05)
    }

    @Test func shapeMismatchNamesParameterAndShapes() throws {
        let path = Fixtures.path("digits/checkpoint-100/optimizer.pt")
        let optimizer = try OptimizerState(path: path)
        // Same element count, wrong shape.
        let layout = ParameterLayout([
            ("0.weight", [64, 64], false), ("0.bias", [64], false), ("2.weight", [64, 10], false), ("2.bias", [10], false),
        ])
        let error = #expect(throws: CheckpointError.self) { try optimizer.moments(for: layout) }
        #expect(error?.code == "optimizer.shape_mismatch")
        #expect(error?.detail == "Adam state 2 exp_avg has shape [10, 64] but parameter '2.weight' has shape [64, 10]")

        let short = ParameterLayout([("0.weight", [64, 64], false), ("0.bias", [64], false)])
        let count = #expect(throws: CheckpointError.self) { try optimizer.moments(for: short) }
        #expect(count?.code == "optimizer.param_count")
        #expect(count?.detail == "optimizer has 4 parameters in 1 param groups but the model has 2")
    }

    private func optimizerValue(groups: [[Int64]], names: [[String]]? = nil) -> PickleValue {
        let tensor = RawTensor(dtype: .f32, shape: [2], data: littleEndianBytes([1, 2]))
        var state: [(key: PickleValue, value: PickleValue)] = []
        for i in groups.flatMap({ $0 }) {
            state.append((.int(i), .dict([(.string("step"), .float(3)), (.string("exp_avg"), .tensor(tensor)), (.string("exp_avg_sq"), .tensor(tensor))])))
        }
        let groupValues: [PickleValue] = groups.enumerated().map { g, params in
            var pairs: [(key: PickleValue, value: PickleValue)] = [(.string("params"), .list(params.map { .int($0) }))]
            if let names { pairs.append((.string("param_names"), .list(names[g].map { .string($0) }))) }
            return .dict(pairs)
        }
        return .dict([(.string("state"), .dict(state)), (.string("param_groups"), .list(groupValues))])
    }

    @Test func usesParamNamesWhenPresent() throws {
        let layout = ParameterLayout([("a.weight", [2], false), ("a.bias", [2], false), ("b.weight", [2], false)])
        // Named groups in an order no positional rule would give.
        let optimizer = try OptimizerState(optimizerValue(groups: [[5], [7, 6]], names: [["a.bias"], ["b.weight", "a.weight"]]), source: "opt.pt")
        #expect(try optimizer.assignment(for: layout).map { "\($0.0.name)=\($0.1)" } == ["a.bias=5", "b.weight=7", "a.weight=6"])
        #expect(try optimizer.moments(for: layout).expAvg == [1, 2, 1, 2, 1, 2])

        let unknown = try OptimizerState(optimizerValue(groups: [[0, 1, 2]], names: [["a.weight", "a.bias", "c.weight"]]), source: "opt.pt")
        let error = #expect(throws: CheckpointError.self) { try unknown.moments(for: layout) }
        #expect(error?.code == "optimizer.unknown_parameter")
        #expect(error?.description == "opt.pt: param_names lists 'c.weight', which the model does not have")
    }

    @Test func refusesThreeUnnamedGroups() throws {
        let layout = ParameterLayout([("a.weight", [2], false), ("a.bias", [2], false), ("b.weight", [2], false)])
        let optimizer = try OptimizerState(optimizerValue(groups: [[0], [1], [2]]), source: "opt.pt")
        let error = #expect(throws: CheckpointError.self) { try optimizer.moments(for: layout) }
        #expect(error?.code == "optimizer.bad_groups")
    }

    @Test func refusesNonOptimizerPickles() {
        let error = #expect(throws: CheckpointError.self) {
            try OptimizerState(path: Fixtures.path("neox-tiny/checkpoint-30/scheduler.pt"))
        }
        #expect(error?.code == "optimizer.bad_format")
    }
}
