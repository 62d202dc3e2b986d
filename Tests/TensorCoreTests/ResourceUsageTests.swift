@testable import TensorCore
import Testing

@Suite struct ResourceUsageTests {
    @Test func peakMemoryRisesWhenPagesAreTouched() {
        let before = ResourceUsage.peakMemoryMB()
        #expect(before > 1)
        let megabytes = 256
        var buffer = [UInt8](repeating: 1, count: megabytes << 20)
        buffer[buffer.count - 1] = 2
        let after = ResourceUsage.peakMemoryMB()
        #expect(after >= before)
        #expect(after > Double(megabytes) * 0.9, "peak \(after) MB after touching \(megabytes) MB")
        #expect(buffer.last == 2)
    }

    #if os(Linux)
    @Test func readsTheHighWaterMarkFromProcStatus() throws {
        let kilobytes = try #require(ResourceUsage.statusField("VmHWM:"))
        #expect(kilobytes > 1024)
        #expect(ResourceUsage.statusField("NoSuchField:") == nil)
    }
    #endif
}
