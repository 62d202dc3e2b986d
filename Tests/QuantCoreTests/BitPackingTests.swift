import Foundation
import QuantCore
import Testing

@Suite struct BitPackingTests {
    @Test(arguments: [2, 3, 4, 6, 8])
    func packUnpackRoundTrips(bitWidth: Int) {
        for isSigned in [false, true] {
            let low = isSigned ? -(1 << (bitWidth - 1)) : 0
            let high = isSigned ? (1 << (bitWidth - 1)) - 1 : (1 << bitWidth) - 1
            let codes = (0..<37).map { Int32(low + ($0 * 7) % (high - low + 1)) }
            let packed = BitPacking.pack(codes, bitWidth: bitWidth)
            #expect(packed.count == (37 * bitWidth + 7) / 8)
            #expect(BitPacking.unpack(packed, count: 37, bitWidth: bitWidth, isSigned: isSigned) == codes)
        }
    }

    @Test func fourBitCodesShareBytesLowNibbleFirst() {
        #expect(BitPacking.pack([1, 2, 15], bitWidth: 4) == [0x21, 0x0F])
    }
}
