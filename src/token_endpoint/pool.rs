//! The threads password hashing runs on: off the async workers, and at the lowest
//! scheduling priority, so that a login storm takes only CPU time that request handling
//! does not need (protected-route latency stays flat while Argon2 runs).

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of low-priority threads fed through a channel. The callers' semaphore
/// bounds how many jobs wait, so the queue stays small.
struct HashPool {
    jobs: Mutex<Sender<Job>>,
}

fn pool() -> &'static HashPool {
    static POOL: OnceLock<HashPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        for i in 0..threads {
            let queue = Arc::clone(&queue);
            let _ = std::thread::Builder::new()
                .name(format!("tower-bearer-hash-{i}"))
                .spawn(move || run(&queue));
        }
        HashPool {
            jobs: Mutex::new(jobs),
        }
    })
}

fn run(queue: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

/// `SCHED_BATCH` at the lowest niceness: the scheduler hands the core to an async worker
/// as soon as one is runnable. Best effort: without it hashing still works.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{
            set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
            ThreadPriority, ThreadSchedulePolicy,
        };
        let _ = set_thread_priority_and_policy(
            thread_native_id(),
            ThreadPriority::Min,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Batch),
        );
    }
}

/// Runs `work` on the hashing threads and waits for its result. `None` if the pool
/// could not take it (no thread could be started, or one panicked).
pub(crate) async fn run_low_priority<R, F>(work: F) -> Option<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(work());
    });
    pool().jobs.lock().ok()?.send(job).ok()?;
    rx.await.ok()
}
