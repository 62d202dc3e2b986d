import Dispatch
import Foundation
import Synchronization

/// Splits index ranges across the machine's cores.
public enum Parallel {
    /// Worker count: `QUANTA_THREADS` when set to a positive integer, else the active processor count.
    public static let threadCount: Int = {
        if let text = ProcessInfo.processInfo.environment["QUANTA_THREADS"], let value = Int(text), value > 0 {
            return value
        }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Calls `body` on disjoint contiguous chunks covering `0..<count`, at most `threadCount` at once.
    /// Runs inline when the work is small (`count < minimumPerChunk * 2`) or only one thread is allowed.
    public static func forEachChunk(count: Int, minimumPerChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = min(threadCount, max(1, count / max(1, minimumPerChunk)))
        if chunks <= 1 {
            body(0..<count)
            return
        }
        let pool = WorkerPool.shared
        if chunks == pool.workerCount + 1 {
            let ran = pool.run { chunk in
                body((count * chunk / chunks)..<(count * (chunk + 1) / chunks))
            }
            if ran { return }
        }
        withoutActuallyEscaping(body) { escapable in
            let box = UncheckedBox(escapable)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let start = count * chunk / chunks
                let end = count * (chunk + 1) / chunks
                box.value(start..<end)
            }
        }
    }
}

extension Parallel {
    /// Calls `body(i)` for every i in `0..<count`, handing indices to idle workers as they free up (for uneven items).
    public static func forEach(count: Int, _ body: (Int) -> Void) {
        guard count > 0 else { return }
        if count == 1 || threadCount == 1 {
            for i in 0..<count { body(i) }
            return
        }
        // Participants take indices from a shared counter, so uneven items balance out.
        let next = Atomic<Int>(0)
        let ran = WorkerPool.shared.run { _ in
            while true {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < count else { return }
                body(index)
            }
        }
        if ran { return }
        withoutActuallyEscaping(body) { escapable in
            let box = UncheckedBox(escapable)
            DispatchQueue.concurrentPerform(iterations: count) { box.value($0) }
        }
    }
}

/// Carries a non-Sendable value into `concurrentPerform`; callers guarantee disjoint access.
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
