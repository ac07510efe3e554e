import Testing
@testable import Estimator

@Suite struct CurvatureSpecTests {
    @Test func fisherAndHessianParseWithTheirDefaults() throws {
        let fisher = try PreconditionerSpec(parsing: "fisher")
        #expect(fisher.kind == .fisher && fisher.value("eps") == 0.01 && fisher.value("samples") == 1)
        #expect(fisher.description == "fisher:eps=0.01,samples=1")
        let hessian = try PreconditionerSpec(parsing: "hessian")
        #expect(hessian.kind == .hessian && hessian.value("eps") == 0.1)
        #expect(hessian.description == "hessian:eps=0.1")
        #expect(try PreconditionerSpec(parsing: "fisher:samples=8,eps=0").parameterText == "eps=0,samples=8")
        #expect(try PreconditionerSpec(parsing: "hessian:eps=0").value("eps") == 0)
    }

    @Test(arguments: ["fisher:samples=0", "fisher:samples=1.5", "fisher:eps=-1", "hessian:samples=2", "hessian:exponent=0.5"])
    func rejectsBadParameters(text: String) {
        #expect(throws: PreconditionerSpecError.self) { try PreconditionerSpec(parsing: text) }
    }

    @Test func runManifestsAcceptThem() throws {
        let manifest = try RunManifest(text: "[estimate]\npreconditioners = [\"none\", \"fisher:eps=0.05\", \"hessian\"]", source: "volume.toml")
        #expect(manifest.estimate.preconditioners?.map(\.description) == ["none", "fisher:eps=0.05,samples=1", "hessian:eps=0.1"])
    }
}
