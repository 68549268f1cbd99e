//! A 4 MB phone-sized JPEG (4000×3000, the highest quality that stays within 4 MB) checked, decoded, re-encoded
//! and thumbnailed by the service's own code, ten times; prints the median, fastest and slowest.

// Only `process` is timed; the service uses the rest.
#[allow(dead_code)]
#[path = "../../../src/photos/image.rs"]
mod photo;

use std::time::{Duration, Instant};

use image::{DynamicImage, Rgb, RgbImage};

const RUNS: usize = 10;

fn main() {
    let picture = DynamicImage::ImageRgb8(RgbImage::from_fn(4000, 3000, |x, y| {
        let noise = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)).rotate_left(x % 13) % 40;
        Rgb([((x / 16 + noise) % 256) as u8, ((y / 12 + noise) % 256) as u8, ((x + y) / 28 % 256) as u8])
    }));
    let sent = (50..=95)
        .rev()
        .step_by(5)
        .map(|quality| {
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
                .encode_image(&picture)
                .expect("encoded");
            out
        })
        .find(|jpeg| jpeg.len() <= 4_000_000)
        .expect("a quality within 4 MB");
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
