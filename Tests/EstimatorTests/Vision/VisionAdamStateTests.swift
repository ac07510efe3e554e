import Testing
@testable import Estimator

/// The Trainer's `optimizer.pt` of the vision fixtures mapped onto the layout: group 0 holds the
/// parameters with weight decay, group 1 the rest, by transformers' `get_decay_parameter_names`
/// (LayerNorm modules by type — ConvNeXt's `downsampling_layer.0` has no "norm" in its name —
/// and names containing "bias"/"layernorm"; ResNet's BatchNorm2d is no LayerNorm, so its
/// weights decay). Reference values were read from the files with torch 2.13.
@Suite struct VisionAdamStateTests {
    struct Entry: Sendable {
        let name: String
        let decays: Bool
        let expAvgSq: [Float]
        let expAvg: [Float]
    }

    struct Case: Sendable, CustomStringConvertible {
        let checkpoint: String
        let groups: (decay: Int, noDecay: Int)
        /// The parameters without decay other than biases (LayerNorm weights).
        let normWeights: Int
        let entries: [Entry]
        var description: String { checkpoint }
    }

    static let cases = [
        Case(checkpoint: "convnextv2-small/checkpoint-240", groups: (19, 33), normWeights: 7, entries: [
            Entry(name: "convnextv2.encoder.stages.1.downsampling_layer.0.weight", decays: false,
                  expAvgSq: [0.0006128062959760427, 9.41278449317906e-06, 8.723260179976933e-06],
                  expAvg: [0.00952102616429329, 0.0004883864312432706]),
            Entry(name: "convnextv2.encoder.stages.1.layers.1.grn.weight", decays: true,
                  expAvgSq: [1.8900649934039393e-07, 1.3049179869994987e-06, 9.473794193581853e-07],
                  expAvg: [4.1198676626663655e-05, -0.0002907631569541991]),
            Entry(name: "convnextv2.embeddings.layernorm.bias", decays: false,
                  expAvgSq: [0.00014247625949792564, 0.00015308517322409898, 0.00038832324207760394],
                  expAvg: [-0.0026524681597948074, 0.0015339810634031892]),
        ]),
        Case(checkpoint: "convnext-small/checkpoint-240", groups: (19, 29), normWeights: 7, entries: [
            Entry(name: "convnext.encoder.stages.1.layers.0.layer_scale_parameter", decays: true,
                  expAvgSq: [0.0010801636381074786, 0.0001951227750396356, 0.00020089583995286375],
                  expAvg: [-0.003485447959974408, 0.00026366094243712723]),
            Entry(name: "convnext.encoder.stages.1.downsampling_layer.0.bias", decays: false,
                  expAvgSq: [0.00013012283307034522, 0.00021326182468328625, 0.0012395457597449422],
                  expAvg: [-0.0064879306592047215, 0.001669817022047937]),
        ]),
        Case(checkpoint: "resnet-small/checkpoint-240", groups: (25, 13), normWeights: 0, entries: [
            Entry(name: "resnet.encoder.stages.1.layers.0.shortcut.normalization.weight", decays: true,
                  expAvgSq: [3.8012126424291637e-06, 3.255505589550012e-06, 9.668552820585319e-07],
                  expAvg: [-0.00014186551561579108, 0.0003271455061621964]),
            Entry(name: "resnet.encoder.stages.1.layers.0.shortcut.normalization.bias", decays: false,
                  expAvgSq: [4.121318852412514e-06, 1.2308902341828798e-06, 2.2237534267333103e-06],
                  expAvg: [-0.00022938325128052384, -0.00020979309920221567]),
            Entry(name: "classifier.1.weight", decays: true,
                  expAvgSq: [6.226440518730669e-07, 6.193807280396868e-07, 4.7274920689233113e-07],
                  expAvg: [-0.00015714025357738137, 0.00017812200530897826]),
        ]),
    ]

    @Test(arguments: cases)
    func trainerGroupsFollowTheDecayRule(_ c: Case) throws {
        let folder = try CheckpointFolder(path: Fixtures.path("vision/" + c.checkpoint))
        let model = try ModelLoader.load(folder, manifest: nil)
        let parameters = model.layout.parameters
        #expect(parameters.filter(\.getsWeightDecay).count == c.groups.decay)
        #expect(parameters.filter { !$0.getsWeightDecay }.count == c.groups.noDecay)
        #expect(parameters.filter { !$0.getsWeightDecay && !$0.name.hasSuffix("bias") }.count == c.normWeights)
        let state = try OptimizerState(path: folder.optimizerPath!)
        #expect(state.groups.map(\.params.count) == [c.groups.decay, c.groups.noDecay])

        let expAvgSq = try folder.adamMoment(.expAvgSq, for: model.layout)
        let expAvg = try folder.adamMoment(.expAvg, for: model.layout)
        #expect(expAvgSq.count == model.layout.count)
        #expect(expAvgSq.allSatisfy { $0 >= 0 })
        for entry in c.entries {
            let p = try #require(model.layout[entry.name])
            #expect(p.getsWeightDecay == entry.decays, "\(entry.name)")
            #expect(Array(expAvgSq[p.offset..<(p.offset + entry.expAvgSq.count)]) == entry.expAvgSq, "\(entry.name)")
            #expect(Array(expAvg[p.offset..<(p.offset + entry.expAvg.count)]) == entry.expAvg, "\(entry.name)")
        }
    }
}
