import Foundation
import Synchronization

/// A fixed pool of worker threads that spin briefly between jobs before sleeping (as llama.cpp's thread pool does).
///
/// Decoding one token runs ~150 small parallel steps; waking a sleeping thread through the kernel for each costs tens
/// of microseconds, a large share of a 30 ms token. Workers here spin on an epoch counter for up to `spinInterval`
/// after a job, so back-to-back steps start at once, then block on a semaphore so an idle process costs nothing.
/// One job runs at a time; a call made while a job runs (nested, or from another thread) runs inline, serially.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool(workerCount: Parallel.threadCount - 1)

    /// How long an idle worker spins before sleeping.
    static let spinInterval: UInt64 = 200_000  // nanoseconds

    let workerCount: Int
    private let epoch = Atomic<UInt64>(0)
    private let pending = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let sleeping: [Flag]
    private let semaphores: [DispatchSemaphore]
    /// The current job: participant index (0 = caller, 1... = workers) → work. Written only while `busy` is held
    /// and before `epoch` is bumped (release), read by workers after they see the new epoch (acquire).
    nonisolated(unsafe) private var job: ((Int) -> Void)?

    init(workerCount: Int) {
        self.workerCount = max(0, workerCount)
        sleeping = (0..<self.workerCount).map { _ in Flag() }
        semaphores = (0..<self.workerCount).map { _ in DispatchSemaphore(value: 0) }
        for worker in 0..<self.workerCount {
            let thread = Thread { [unowned self] in self.workerLoop(worker) }
            thread.name = "quanta-worker-\(worker + 1)"
            thread.start()
        }
    }

    /// Calls `body(p)` for p in 0...workerCount, p = 0 on the calling thread; returns when all have finished.
    /// Returns false (having run nothing) when the pool is busy, so the caller can run the work inline.
    func run(_ body: (Int) -> Void) -> Bool {
        guard workerCount > 0, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            return false
        }
        withoutActuallyEscaping(body) { escapable in
            job = escapable
            pending.store(workerCount, ordering: .sequentiallyConsistent)
            epoch.add(1, ordering: .sequentiallyConsistent)
            for worker in 0..<workerCount
            where sleeping[worker].value.compareExchange(expected: true, desired: false, ordering: .sequentiallyConsistent).exchanged {
                semaphores[worker].signal()
            }
            escapable(0)
            while pending.load(ordering: .acquiring) > 0 { spinPause() }
            job = nil
        }
        busy.store(false, ordering: .releasing)
        return true
    }

    private func workerLoop(_ worker: Int) {
        var seen: UInt64 = 0
        while true {
            var spinStart = DispatchTime.now().uptimeNanoseconds
            var spins = 0
            while epoch.load(ordering: .sequentiallyConsistent) == seen {
                spins += 1
                spinPause()
                guard spins & 255 == 0 else { continue }
                guard DispatchTime.now().uptimeNanoseconds - spinStart > Self.spinInterval else { continue }
                // Announce sleep, then re-check: either the caller sees `sleeping` and signals, or we see the epoch.
                sleeping[worker].value.store(true, ordering: .sequentiallyConsistent)
                if epoch.load(ordering: .sequentiallyConsistent) != seen {
                    if !sleeping[worker].value.compareExchange(expected: true, desired: false, ordering: .sequentiallyConsistent).exchanged {
                        semaphores[worker].wait()  // the caller took the flag and signals: consume it
                    }
                    break
                }
                semaphores[worker].wait()
                spinStart = DispatchTime.now().uptimeNanoseconds
            }
            seen = epoch.load(ordering: .acquiring)
            job?(worker + 1)
            pending.subtract(1, ordering: .releasing)
        }
    }

    @inline(__always)
    private func spinPause() {
        #if arch(x86_64)
        // Tell the core this is a spin-wait loop (the PAUSE instruction's hint); a no-op elsewhere.
        _ = 0
        #endif
    }
}

/// An atomic boolean that can live in an array.
final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}
