//! Work shared among threads for a stage's own code: each item on a thread of its own.

/// Runs `work` on each of `items`, one thread each (the first on this thread), and returns
/// the results in the items' order. A panic on any thread is raised again here.
pub fn on_threads<'a, T: Sync, R: Send>(items: &'a [T], work: impl Fn(&'a T) -> R + Sync) -> Vec<R> {
    std::thread::scope(|scope| {
        let work = &work;
        let others: Vec<_> = items.iter().skip(1).map(|item| scope.spawn(move || work(item))).collect();
        let mut results = Vec::with_capacity(items.len());
        if let Some(first) = items.first() {
            results.push(work(first));
        }
        results.extend(others.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))));
        results
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every item is worked on once, each on a thread of its own, and the results come in
    /// the items' order.
    #[test]
    fn results_come_in_the_items_order() {
        let items: Vec<u64> = (1..=5).collect();
        let threads: std::collections::HashSet<_> =
            on_threads(&items, |_| std::thread::current().id()).into_iter().collect();
        assert_eq!(threads.len(), 5);
        assert!(threads.contains(&std::thread::current().id()), "the first item on this thread");
        assert_eq!(on_threads(&items, |&n| n * n), vec![1, 4, 9, 16, 25]);
        assert!(on_threads(&[] as &[u64], |&n| n).is_empty());
    }
}
