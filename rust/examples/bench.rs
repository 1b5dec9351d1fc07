//! `cargo run --release --example bench -- MODEL FILE...`: single-thread lines/s of
//! the core on the lines of the given files (a quick loop for profiling).
use std::time::Instant;

use lookskip_rs::Classifier;

/// CPU time of this thread (ns), so figures hold on a busy machine.
fn cpu_ns() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let clf = Classifier::load(&args[0]).expect("model");
    println!("load {:.3}s", clf.load_seconds);
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for f in &args[1..] {
        let data = std::fs::read(f).expect("file");
        lines.extend(data.split(|&b| b == b'\n').map(<[u8]>::to_vec));
    }
    let mut s = clf.scratch();
    let mut acc = 0.0;
    for round in 0..3 {
        let t = Instant::now();
        let c = cpu_ns();
        for l in &lines {
            acc += clf.score(l, &mut s);
        }
        let dt = t.elapsed().as_secs_f64();
        let cpu = (cpu_ns() - c) / 1e9;
        println!(
            "round {round}: {} lines, {:.0} lines/s wall, {:.0} lines/s cpu",
            lines.len(),
            lines.len() as f64 / dt,
            lines.len() as f64 / cpu
        );
    }
    println!("{acc}");
}
