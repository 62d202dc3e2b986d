import Foundation
import Testing

@testable import TensorCore

@Suite(.serialized) struct HugePagesTests {
    /// Advising (and collapsing) the pages under a tensor never changes its contents, whatever the kernel allows, and
    /// reports at most the 2 MiB pages that overlap it.
    @Test func adviceKeepsContents() {
        let count = 3 * HugePages.pageSize / 4 + 12_345  // ~3 MiB of floats: spans at least two huge pages
        let tensor = Tensor(shape: [count], scalars: (0..<count).map { Float($0 % 1000) * 0.5 })
        let before = tensor.scalars
        let region = tensor.storageRegion
        #expect(region.byteCount == count * 4)
        let collapsed = HugePages.advise([region, region])
        let overlapping = (region.byteCount + 2 * HugePages.pageSize - 1) / HugePages.pageSize
        #expect(collapsed >= 0 && collapsed <= overlapping * HugePages.pageSize)
        #expect(collapsed % HugePages.pageSize == 0)
        #expect(tensor.scalars == before)
    }

    @Test func environmentTurnsItOff() {
        let tensor = Tensor(shape: [HugePages.pageSize], repeating: 1)
        setenv("QUANTA_HUGE_PAGES", "0", 1)
        defer { unsetenv("QUANTA_HUGE_PAGES") }
        #expect(HugePages.advise([tensor.storageRegion]) == 0)
    }

    @Test func emptyRegionsAreSkipped() {
        let empty = Tensor(shape: [0])
        #expect(HugePages.advise([empty.storageRegion]) == 0)
    }
}
