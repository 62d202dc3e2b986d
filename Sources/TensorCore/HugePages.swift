#if canImport(Glibc)
import Glibc
#endif

/// Transparent huge pages for memory that is streamed over and over (the weights, read once per decoded token).
///
/// Decoding is bound by memory bandwidth, and with 4 KiB pages the weights of a 135M-parameter model span 130 000
/// pages: every 4 KiB of a weight row costs a TLB miss and a page walk. Linux backs memory with 2 MiB pages only
/// where asked (`/sys/kernel/mm/transparent_hugepage/enabled` is `madvise` on most distributions), so `advise` marks
/// each 2 MiB page overlapping the given regions `MADV_HUGEPAGE` and collapses the pages already present into huge
/// ones with `MADV_COLLAPSE` (Linux 6.1+). A page whose collapse fails (an older kernel, a mapping boundary, no free
/// huge page) simply stays as it was: the contents never change, only their backing. Elsewhere it does nothing.
public enum HugePages {
    /// Size of one transparent huge page on x86-64 and most arm64 kernels.
    public static let pageSize = 2 << 20
    static let adviseHugePage: Int32 = 14  // MADV_HUGEPAGE
    static let adviseCollapse: Int32 = 25  // MADV_COLLAPSE (Linux 6.1)

    /// Advises (and collapses) every 2 MiB page overlapping `regions` (start, byte count); overlapping and repeated
    /// regions are advised once. `QUANTA_HUGE_PAGES=0` turns this off.
    /// - Returns: bytes now backed by collapsed huge pages (0 where unsupported).
    @discardableResult
    public static func advise(_ regions: [(start: UnsafeRawPointer, byteCount: Int)]) -> Int {
        #if os(Linux)
        if let setting = getenv("QUANTA_HUGE_PAGES"), String(cString: setting) == "0" { return 0 }
        var pages = Set<UInt>()
        for (start, count) in regions where count > 0 {
            let first = UInt(bitPattern: start) / UInt(pageSize)
            let last = (UInt(bitPattern: start) + UInt(count) - 1) / UInt(pageSize)
            for page in first...last { pages.insert(page) }
        }
        var collapsed = 0
        for page in pages.sorted() {
            guard let address = UnsafeMutableRawPointer(bitPattern: page * UInt(pageSize)) else { continue }
            guard madvise(address, pageSize, adviseHugePage) == 0 else { continue }
            if madvise(address, pageSize, adviseCollapse) == 0 { collapsed += pageSize }
        }
        return collapsed
        #else
        return 0
        #endif
    }
}

extension Tensor {
    /// The storage of this tensor as a region for `HugePages.advise` (valid while the tensor is alive and unchanged).
    public var storageRegion: (start: UnsafeRawPointer, byteCount: Int) {
        scalars.withUnsafeBytes { ($0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, $0.count) }
    }
}
