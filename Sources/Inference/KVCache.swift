/// Keys and values of every layer for the positions seen so far, so decoding a token costs one position's work.
///
/// Layout per layer: `[capacity, keyValueHeadCount · headDimension]`, positions in order. Grows on demand.
public struct KVCache: Sendable {
    /// Positions stored.
    public private(set) var count = 0
    /// Positions that fit before the next growth.
    public private(set) var capacity: Int
    /// Width of one position's keys (= width of its values).
    public let width: Int
    var keys: [[Float]]
    var values: [[Float]]

    /// An empty cache for `layerCount` layers of `width` floats per position.
    public init(layerCount: Int, width: Int, capacity: Int = 256) {
        self.width = width
        self.capacity = max(1, capacity)
        keys = Array(repeating: [Float](repeating: 0, count: self.capacity * width), count: layerCount)
        values = keys
    }

    /// Forgets every position, keeping the storage.
    public mutating func reset() { count = 0 }

    /// Makes room for `additional` positions beyond `count`.
    mutating func reserve(_ additional: Int) {
        let needed = count + additional
        guard needed > capacity else { return }
        var newCapacity = capacity
        while newCapacity < needed { newCapacity *= 2 }
        for layer in keys.indices {
            keys[layer] += [Float](repeating: 0, count: (newCapacity - capacity) * width)
            values[layer] += [Float](repeating: 0, count: (newCapacity - capacity) * width)
        }
        capacity = newCapacity
    }

    /// Marks `added` positions (already written by every layer) as stored.
    mutating func commit(_ added: Int) { count += added }
}
