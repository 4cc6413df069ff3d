//! A count of finished work items shared by parallel workers, reported in order.
//!
//! Workers that count with an atomic and then report can report out of order (a worker
//! that finished second may report first), and a progress bar then goes back. A [`Tally`]
//! counts and reports under one lock, so the counts a report sees only ever grow.

use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Tally {
    done: Mutex<usize>,
}

impl Tally {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one more finished item and calls `report` with the new count; no other
    /// worker counts or reports until `report` returns. Keep `report` short.
    pub fn finish<R>(&self, report: impl FnOnce(usize) -> R) -> R {
        let mut done = self.done.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *done += 1;
        report(*done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_from_many_workers_arrive_in_counting_order() {
        use rayon::prelude::*;
        let tally = Tally::new();
        let seen = Mutex::new(Vec::new());
        (0..2000).into_par_iter().for_each(|_| {
            tally.finish(|d| {
                // Widen the window in which an atomic counter would be overtaken.
                std::hint::black_box((0..50).sum::<u64>());
                seen.lock().unwrap().push(d)
            })
        });
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen, (1..=2000).collect::<Vec<_>>());
    }
}
