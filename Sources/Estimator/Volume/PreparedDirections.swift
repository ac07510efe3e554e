/// Every direction of one estimate, drawn and multiplied by a dense preconditioner up front.
///
/// P = V·diag(s)·Vᵀ costs two D×D matrix products per direction. Applied one direction at a
/// time they are GEMVs that stream V from memory twice per direction; over blocks of directions
/// they are GEMMs that reuse it from cache. Blocks have a fixed size, so every row is computed
/// by the same GEMM call whatever the thread count, and results stay identical.
final class PreparedDirections: @unchecked Sendable {
    static let rowsPerBlock = 16

    let dimension: Int
    private let rows: UnsafeMutableBufferPointer<Float>
    /// ‖u‖ of each drawn direction before preconditioning (1 up to float32 rounding).
    private let drawnNorms: UnsafeMutableBufferPointer<Double>

    init(source: any DirectionSource, preconditioner: Preconditioner, directions: Int, threads: Int) {
        let d = source.dimension
        dimension = d
        rows = .allocate(capacity: directions * d)
        drawnNorms = .allocate(capacity: directions)
        let blocks = (directions + Self.rowsPerBlock - 1) / Self.rowsPerBlock
        WorkerPool.run(threads: threads, count: blocks) { _, block in
            self.fill(block: block, directions: directions, source: source, preconditioner: preconditioner)
        }
    }

    private func fill(block: Int, directions: Int, source: any DirectionSource, preconditioner: Preconditioner) {
        let d = dimension
        let first = block * Self.rowsPerBlock
        let count = min(Self.rowsPerBlock, directions - first)
        let blockRows = rows.baseAddress! + first * d
        for r in 0..<count {
            let u = UnsafeMutableBufferPointer(start: blockRows + r * d, count: d)
            source.unitDirection(first + r, into: u)
            drawnNorms[first + r] = DirectionWorker.norm(UnsafeBufferPointer(u))
        }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: count * d)
        defer { scratch.deallocate() }
        preconditioner.applyRows(blockRows, count: count, dimension: d, scratch: scratch)
    }

    deinit {
        rows.deallocate()
        drawnNorms.deallocate()
    }

    /// Writes direction `index`'s P·u to `v` and returns ‖u‖.
    func copy(_ index: Int, into v: UnsafeMutableBufferPointer<Float>) -> Double {
        _ = v.update(fromContentsOf: UnsafeBufferPointer(rebasing: rows[(index * dimension)..<((index + 1) * dimension)]))
        return drawnNorms[index]
    }
}
