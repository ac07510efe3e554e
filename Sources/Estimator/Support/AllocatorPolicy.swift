/// How this process's allocator treats large blocks. glibc serves a block from the heap once a
/// block of its size has been freed (its mmap threshold rises with each free, up to 32 MiB), and
/// freed heap blocks below the top stay resident: a long-running process that loads a checkpoint,
/// frees the loading buffers and then allocates its estimate's buffers keeps both resident. With
/// a fixed threshold every large buffer (θ copies, directions, activations, the curvature
/// matrices) is its own mapping, returned to the system when freed.
public enum AllocatorPolicy {
    /// Blocks of this many bytes or more get their own mapping.
    public static let largeBlockBytes = 128 << 10

    /// Fixes the threshold (idempotent; call before the first large allocation).
    public static func returnLargeBlocksToSystem() {
        _ = mallopt(mmapThreshold, Int32(largeBlockBytes))
        _ = mallopt(trimThreshold, Int32(largeBlockBytes))
    }

    // malloc.h's M_TRIM_THRESHOLD and M_MMAP_THRESHOLD.
    private static let trimThreshold: Int32 = -1
    private static let mmapThreshold: Int32 = -3
}

/// glibc's mallopt (malloc.h is not part of Swift's Glibc module).
@_silgen_name("mallopt")
private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
