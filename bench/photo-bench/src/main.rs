//! A 4 MB phone-sized JPEG (`sample`) checked, decoded, re-encoded
//! and thumbnailed by the service's own code, ten times; prints the median, fastest and slowest.

// Only `process` is timed; the service uses the rest.
#[allow(dead_code)]
#[path = "../../../src/photos/image.rs"]
mod photo;
mod sample;

use std::time::{Duration, Instant};

const RUNS: usize = 10;

fn main() {
    let sent = sample::four_megabyte_jpeg();
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            let kept = photo::process(&sent).expect("processed");
            std::hint::black_box(kept);
            started.elapsed()
        })
        .collect();
    times.sort();
    let kept = photo::process(&sent).expect("processed");
    println!(
        "processing a {:.2} MB 4000x3000 JPEG (kept: {:.2} MB, thumbnail {} KB): median {:?}, fastest {:?}, slowest {:?} of {RUNS}",
        sent.len() as f64 / 1e6,
        kept.image.len() as f64 / 1e6,
        kept.thumbnail.len() / 1000,
        times[RUNS / 2],
        times[0],
        times[RUNS - 1]
    );
}
