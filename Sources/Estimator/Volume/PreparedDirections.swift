/// Every direction of one estimate, drawn and multiplied by a dense preconditioner up front.
///
/// P = V·diag(s)·Vᵀ costs two D×D matrix products per direction. Applied one direction at a
/// time they are GEMVs that stream V from memory twice per direction; over blocks of directions
/// they are GEMMs that reuse it from cache. Blocks have a fixed size, so every row is computed
/// by the same GEMM call whatever the thread count, and results stay identical. Blocks are
/// aligned to direction indices (block b holds directions 16b…16b+15 of the k), so a shard that
/// needs only some directions computes each of them in the same block as a whole estimate does.
final class PreparedDirections: @unchecked Sendable {
    static let rowsPerBlock = 16

    let dimension: Int
    /// The first direction held (a multiple of `rowsPerBlock`).
    private let firstDirection: Int
    private let rows: UnsafeMutableBufferPointer<Float>
    /// ‖u‖ of each drawn direction before preconditioning (1 up to float32 rounding).
    private let drawnNorms: UnsafeMutableBufferPointer<Double>

    /// The directions in `indices` (of an estimate of `directions`), in whole aligned blocks.
    init(source: any DirectionSource, preconditioner: Preconditioner, indices: Range<Int>, directions: Int, threads: Int) {
        let d = source.dimension
        dimension = d
        let firstBlock = indices.lowerBound / Self.rowsPerBlock
        let endBlock = (indices.upperBound + Self.rowsPerBlock - 1) / Self.rowsPerBlock
        firstDirection = firstBlock * Self.rowsPerBlock
        let held = min(directions, endBlock * Self.rowsPerBlock) - firstDirection
        rows = .allocate(capacity: held * d)
        drawnNorms = .allocate(capacity: held)
        WorkerPool.run(threads: threads, count: endBlock - firstBlock) { _, block in
            self.fill(block: firstBlock + block, directions: directions, source: source, preconditioner: preconditioner)
        }
    }

    private func fill(block: Int, directions: Int, source: any DirectionSource, preconditioner: Preconditioner) {
        let d = dimension
        let first = block * Self.rowsPerBlock
        let count = min(Self.rowsPerBlock, directions - first)
        let blockRows = rows.baseAddress! + (first - firstDirection) * d
        for r in 0..<count {
            let u = UnsafeMutableBufferPointer(start: blockRows + r * d, count: d)
            source.unitDirection(first + r, into: u)
            drawnNorms[first + r - firstDirection] = DirectionWorker.norm(UnsafeBufferPointer(u))
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
        let row = index - firstDirection
        _ = v.update(fromContentsOf: UnsafeBufferPointer(rebasing: rows[(row * dimension)..<((row + 1) * dimension)]))
        return drawnNorms[row]
    }
}
