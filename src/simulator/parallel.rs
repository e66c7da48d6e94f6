//! Ordered parallel map over chunk indices with plain scoped threads: results are handed to the
//! sink in index order, so output files do not depend on thread timing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Runs `work(i)` for every `i < n` on all cores, a batch at a time (to bound memory), and feeds
/// the results to `sink` in order of `i`.
pub fn ordered<T: Send>(
    n: usize,
    work: impl Fn(usize) -> T + Sync,
    mut sink: impl FnMut(T) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let batch = threads * 4;
    let mut start = 0;
    while start < n {
        let end = (start + batch).min(n);
        let slots: Vec<Mutex<Option<T>>> = (start..end).map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(start);
        std::thread::scope(|scope| {
            for _ in 0..threads.min(end - start) {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= end {
                        break;
                    }
                    let result = work(i);
                    *slots[i - start].lock().expect("no panics while holding") = Some(result);
                });
            }
        });
        for slot in slots {
            sink(
                slot.into_inner()
                    .expect("not poisoned")
                    .expect("every index computed"),
            )?;
        }
        start = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_arrive_in_index_order() {
        let mut seen = Vec::new();
        super::ordered(
            37,
            |i| i * i,
            |x| {
                seen.push(x);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, (0..37).map(|i| i * i).collect::<Vec<_>>());
    }
}
