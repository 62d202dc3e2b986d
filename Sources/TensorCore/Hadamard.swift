/// Why a Hadamard transform cannot be built.
public enum HadamardError: Error, Equatable, CustomStringConvertible {
    /// No construction in this build gives a Hadamard matrix of this order.
    case unsupportedDimension(Int)
    /// A stored description asks for a base order this build cannot construct, or does not fit its dimension.
    case unsupportedBaseSize(dimension: Int, baseSize: Int)
    /// A sign vector of the wrong length or with entries other than ±1.
    case invalidSigns(dimension: Int, reason: String)

    public var description: String {
        switch self {
        case let .unsupportedDimension(n):
            "no Hadamard matrix of order \(n) in this build: orders are 2^k·m with m = 1, q+1 (prime q ≡ 3 mod 4) "
                + "or 2(q+1) (prime q ≡ 1 mod 4), e.g. 12, 20, 24, 28, 36, 44 times a power of two"
        case let .unsupportedBaseSize(n, m):
            "a Hadamard transform of order \(n) over a base of order \(m) cannot be built here "
                + "(m must divide n with n/m a power of two, and m must be 1 or a Paley order)"
        case let .invalidSigns(n, reason): "Hadamard signs for order \(n): \(reason)"
        }
    }
}

/// A randomized, normalized Hadamard transform Q = D·Ĥ of order `dimension` (QuaRot, Ashkboos et al. 2024, §3):
/// D = diag(s) with seeded signs s ∈ {±1}ⁿ and Ĥ = (H_m ⊗ H_{2^k}) / √n, where H_{2^k} is Sylvester's (Walsh–Hadamard)
/// matrix and H_m (m = `baseSize`) comes from a Paley construction (or is [1]). Q is orthogonal: QQᵀ = I.
///
/// Rows are transformed as x ← x·Q, i.e. the signs are applied first, then Ĥ — QuaRot's `random_hadamard_matrix`,
/// which builds diag(s) and applies the Hadamard to its rows. The fast path (`apply(rows:_:)`) costs
/// n·(log₂ 2^k + m) per row: a fast Walsh–Hadamard transform over each contiguous block of 2^k, then a dense m×m mix
/// across the blocks.
///
/// Paley constructions are implemented for prime q only (not prime powers); `supportedBaseSizes` lists what exists.
public struct HadamardTransform: Sendable, Equatable {
    /// n: the length of each transformed row.
    public let dimension: Int
    /// m: the order of the dense (Paley) factor; `dimension / baseSize` is a power of two.
    public let baseSize: Int
    /// The seed the signs came from (nil for explicit signs or none).
    public let seed: UInt64?
    /// The diagonal of D, `[dimension]`, each ±1.
    public let signs: [Float]
    /// H_m row-major `[baseSize, baseSize]`, entries ±1 (unnormalized).
    let base: [Float]

    /// Q for `dimension`, on the smallest base order that works, with signs drawn from `seed` (all +1 when nil).
    /// - Throws: `HadamardError.unsupportedDimension` when no supported factorization exists.
    public init(dimension: Int, seed: UInt64?) throws(HadamardError) {
        guard let m = Self.baseSize(for: dimension) else { throw .unsupportedDimension(dimension) }
        try self.init(dimension: dimension, baseSize: m, signs: Self.signs(count: dimension, seed: seed), seed: seed)
    }

    /// Q rebuilt from stored parts (a saved model's description).
    /// - Throws: `HadamardError.unsupportedBaseSize` or `.invalidSigns`.
    public init(dimension: Int, baseSize: Int, signs: [Float], seed: UInt64? = nil) throws(HadamardError) {
        guard dimension > 0, baseSize > 0, dimension % baseSize == 0, Self.isPowerOfTwo(dimension / baseSize),
            let base = Self.paleyMatrix(order: baseSize)
        else { throw .unsupportedBaseSize(dimension: dimension, baseSize: baseSize) }
        guard signs.count == dimension else {
            throw .invalidSigns(dimension: dimension, reason: "\(signs.count) signs")
        }
        guard signs.allSatisfy({ $0 == 1 || $0 == -1 }) else {
            throw .invalidSigns(dimension: dimension, reason: "entries other than ±1")
        }
        self.dimension = dimension
        self.baseSize = baseSize
        self.seed = seed
        self.signs = signs
        self.base = base
    }

    /// Whether `dimension` has a Hadamard matrix in this build.
    public static func isSupported(dimension: Int) -> Bool { baseSize(for: dimension) != nil }

    /// Seeded ±1 signs: bit 63 of successive SplitMix64 outputs (all +1 when `seed` is nil).
    public static func signs(count: Int, seed: UInt64?) -> [Float] {
        guard let seed else { return [Float](repeating: 1, count: count) }
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in rng.next() >> 63 == 0 ? 1 : -1 }
    }

    /// The smallest m with `dimension` = 2^k·m and H_m constructible (1 for powers of two), or nil.
    public static func baseSize(for dimension: Int) -> Int? {
        guard dimension > 0 else { return nil }
        var m = dimension
        var candidates = [m]
        while m % 2 == 0 {
            m /= 2
            candidates.append(m)
        }
        return candidates.reversed().first { paleyMatrix(order: $0) != nil }
    }

    // MARK: Applying

    /// Transforms each of `rows` contiguous rows of `data` (`[rows, dimension]`) in place: x ← x·Q. Rows are split
    /// across `Parallel` workers.
    public func apply(rows: Int, _ data: UnsafeMutablePointer<Float>) {
        let n = dimension
        nonisolated(unsafe) let pointer = data
        // Small work stays on the calling thread: a decode step transforms one row.
        Parallel.forEachChunk(count: rows, minimumPerChunk: max(1, 32_768 / max(1, n * (baseSize + 8)))) { range in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: baseSize > 1 ? n : 1)
            defer { scratch.deallocate() }
            signs.withUnsafeBufferPointer { s in
                base.withUnsafeBufferPointer { h in
                    for row in range {
                        applyRow(pointer + row * n, signs: s.baseAddress!, base: h.baseAddress!, scratch: scratch)
                    }
                }
            }
        }
    }

    /// Transforms every row of `tensor` (`[rows, dimension]`, or `[dimension]`) in place.
    public func apply(to tensor: inout Tensor) {
        precondition(tensor.shape.last == dimension, "Hadamard of order \(dimension) applied to \(tensor.shape)")
        let rows = tensor.elementCount / dimension
        tensor.scalars.withUnsafeMutableBufferPointer { apply(rows: rows, $0.baseAddress!) }
    }

    /// One row: signs, Walsh–Hadamard over each block of p = n/m, then the dense m×m mix (y_c = Σ_a H_m[a, c]·z_a,
    /// blocks as vectors), then 1/√n.
    @inline(__always)
    private func applyRow(
        _ x: UnsafeMutablePointer<Float>, signs: UnsafePointer<Float>, base: UnsafePointer<Float>,
        scratch: UnsafeMutablePointer<Float>
    ) {
        let n = dimension, m = baseSize, p = n / m
        for i in 0..<n { x[i] *= signs[i] }
        for block in 0..<m { Self.walshHadamard(x + block * p, count: p) }
        let scale = 1 / Float(n).squareRoot()
        guard m > 1 else {
            for i in 0..<n { x[i] *= scale }
            return
        }
        if m % 4 == 0 && p % 16 == 0 {
            Self.mixBlocks(x, base: base, m: m, p: p, scale: scale, into: scratch)
        } else {
            for c in 0..<m {
                let y = scratch + c * p
                for d in 0..<p { y[d] = 0 }
                for a in 0..<m {
                    let z = x + a * p
                    if base[a * m + c] > 0 {
                        for d in 0..<p { y[d] += z[d] }
                    } else {
                        for d in 0..<p { y[d] -= z[d] }
                    }
                }
            }
            for i in 0..<n { scratch[i] *= scale }
        }
        x.update(from: scratch, count: n)
    }

    /// y_c = scale · Σ_a H_m[a, c]·z_a over blocks of p (a multiple of 16) values, four outputs at a time so that
    /// four independent accumulator chains hide the FMA latency (m is a multiple of 4).
    @inline(__always)
    static func mixBlocks(
        _ x: UnsafePointer<Float>, base: UnsafePointer<Float>, m: Int, p: Int, scale: Float,
        into y: UnsafeMutablePointer<Float>
    ) {
        var v = 0
        while v < p {
            var c = 0
            while c < m {
                var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
                for a in 0..<m {
                    let z = load(x + a * p + v)
                    let row = base + a * m + c
                    a0.addProduct(SIMD16(repeating: row[0]), z)
                    a1.addProduct(SIMD16(repeating: row[1]), z)
                    a2.addProduct(SIMD16(repeating: row[2]), z)
                    a3.addProduct(SIMD16(repeating: row[3]), z)
                }
                store(a0 * scale, y + c * p + v)
                store(a1 * scale, y + (c + 1) * p + v)
                store(a2 * scale, y + (c + 2) * p + v)
                store(a3 * scale, y + (c + 3) * p + v)
                c += 4
            }
            v += 16
        }
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self) }

    @inline(__always)
    static func store(_ value: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: value, as: SIMD16<Float>.self)
    }

    /// In-place unnormalized fast Walsh–Hadamard transform of `count` (a power of two) values (Sylvester order).
    @inline(__always)
    static func walshHadamard(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var h = 1
        while h < count {
            if h >= 16 {
                var start = 0
                while start < count {
                    var i = start
                    while i < start + h {
                        let a = load(x + i), b = load(x + i + h)
                        store(a + b, x + i)
                        store(a - b, x + i + h)
                        i += 16
                    }
                    start += 2 * h
                }
                h *= 2
                continue
            }
            var start = 0
            while start < count {
                for i in start..<(start + h) {
                    let a = x[i], b = x[i + h]
                    x[i] = a + b
                    x[i + h] = a - b
                }
                start += 2 * h
            }
            h *= 2
        }
    }

    /// Q as a dense `[dimension, dimension]` tensor (row-major), so that x·Q is `apply`'s result.
    public func matrix() -> Tensor {
        let n = dimension, m = baseSize, p = n / m
        let scale = 1 / Float(n).squareRoot()
        var q = [Float](repeating: 0, count: n * n)
        for i in 0..<n {
            let (a, b) = (i / p, i % p)
            for j in 0..<n {
                let (c, d) = (j / p, j % p)
                // Sylvester: H_p[b, d] = (−1)^popcount(b & d).
                let walsh: Float = (b & d).nonzeroBitCount % 2 == 0 ? 1 : -1
                q[i * n + j] = signs[i] * base[a * m + c] * walsh * scale
            }
        }
        return Tensor(shape: [n, n], scalars: q)
    }

    /// Plain x ← x·Q per row through the dense matrix, accumulated in Double: the reference `apply` is tested against.
    public func applyReference(to tensor: inout Tensor) {
        precondition(tensor.shape.last == dimension)
        let n = dimension, q = matrix().scalars
        for row in 0..<(tensor.elementCount / n) {
            let x = Array(tensor.scalars[(row * n)..<((row + 1) * n)])
            for j in 0..<n {
                var sum = 0.0
                for i in 0..<n { sum += Double(x[i]) * Double(q[i * n + j]) }
                tensor.scalars[row * n + j] = Float(sum)
            }
        }
    }

    // MARK: Constructions

    static func isPowerOfTwo(_ value: Int) -> Bool { value > 0 && value & (value - 1) == 0 }

    /// An unnormalized Hadamard matrix H_m (row-major, ±1) for m = 1, m = q + 1 (Paley I, prime q ≡ 3 mod 4) or
    /// m = 2(q + 1) (Paley II, prime q ≡ 1 mod 4); nil otherwise. m = 2 is Paley I's q = 1 case written out.
    static func paleyMatrix(order m: Int) -> [Float]? {
        if m == 1 { return [1] }
        if m == 2 { return [1, 1, 1, -1] }
        if m % 4 != 0 { return nil }
        if isPrime(m - 1) && (m - 1) % 4 == 3 { return paleyI(q: m - 1) }
        if m % 2 == 0, isPrime(m / 2 - 1) && (m / 2 - 1) % 4 == 1 { return paleyII(q: m / 2 - 1) }
        return nil
    }

    static func isPrime(_ value: Int) -> Bool {
        guard value >= 2 else { return false }
        var d = 2
        while d * d <= value {
            if value % d == 0 { return false }
            d += 1
        }
        return true
    }

    /// χ(a): the quadratic character of a mod q (0, 1 or −1).
    static func quadraticCharacter(_ a: Int, q: Int) -> Int {
        let r = ((a % q) + q) % q
        if r == 0 { return 0 }
        for x in 1..<q where (x * x) % q == r { return 1 }
        return -1
    }

    /// Paley I: H = I + S with S = [[0, 1ᵀ], [−1, Q]] skew-symmetric, Q[i, j] = χ(j − i).
    static func paleyI(q: Int) -> [Float] {
        let m = q + 1
        var h = [Float](repeating: 0, count: m * m)
        for i in 0..<m {
            for j in 0..<m {
                let s: Int
                if i == 0 { s = j == 0 ? 0 : 1 } else if j == 0 { s = -1 } else { s = quadraticCharacter(j - i, q: q) }
                h[i * m + j] = Float(s + (i == j ? 1 : 0))
            }
        }
        return h
    }

    /// Paley II: the symmetric conference matrix C = [[0, 1ᵀ], [1, Q]] with each 0 replaced by [[1, −1], [−1, −1]]
    /// and each ±1 by ±[[1, 1], [1, −1]].
    static func paleyII(q: Int) -> [Float] {
        let c = q + 1, m = 2 * c
        var h = [Float](repeating: 0, count: m * m)
        for i in 0..<c {
            for j in 0..<c {
                let entry: Int
                if i == 0 || j == 0 { entry = i == j ? 0 : 1 } else { entry = quadraticCharacter(j - i, q: q) }
                let block: [Float] = entry == 0 ? [1, -1, -1, -1] : [1, 1, 1, -1].map { $0 * Float(entry) }
                for u in 0..<2 {
                    for v in 0..<2 { h[(2 * i + u) * m + 2 * j + v] = block[u * 2 + v] }
                }
            }
        }
        return h
    }
}
