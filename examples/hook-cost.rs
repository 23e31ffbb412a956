//! What a content hook costs the load: loads one image again and again, alternating no
//! hook, the package reader, the secret rules, and both (as the explorer loads), and prints
//! each load's wall and CPU seconds (the process' user+system time, from /proc/self/stat),
//! the package analysis included (and also shown alone).
//!
//! `cargo run --release --example hook-cost -- IMAGE [ROUNDS]`

use layerscope::analysis::{explorer_hooks, packages, secrets};
use layerscope::layer::{ContentHook, ParseControl};
use layerscope::load::{load_path, LoadOptions};
use std::sync::Arc;
use std::time::Instant;

/// The process' CPU seconds so far (utime + stime, in clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name, which ends with the last ')'.
    let rest = &stat[stat.rfind(')').expect("stat") + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// A hook as the load takes it, made fresh for each load.
type MakeHook = fn() -> Arc<dyn ContentHook>;

fn main() {
    let mut args = std::env::args().skip(1);
    let image = args.next().expect("usage: hook-cost IMAGE [ROUNDS]");
    let rounds: usize = args.next().map_or(3, |r| r.parse().expect("ROUNDS"));
    let hooks: [(&str, Option<MakeHook>); 4] = [
        ("none", None),
        ("packages", Some(packages::Reader::hook)),
        ("secrets", Some(secrets::Scan::hook)),
        ("both", Some(explorer_hooks)),
    ];
    let mut totals = vec![(0.0f64, 0.0f64); hooks.len()];
    for round in 0..rounds {
        for (i, (name, hook)) in hooks.iter().enumerate() {
            let options = LoadOptions {
                content: hook.map(|h| h()),
                ..Default::default()
            };
            let (wall, cpu) = (Instant::now(), cpu_seconds());
            let loaded = load_path(&image, &options, &ParseControl::default(), &mut |_| {})
                .unwrap_or_else(|e| panic!("{image}: {e}"));
            let analysing = Instant::now();
            let found = packages::analyze(&loaded).packages.len();
            let analysis = analysing.elapsed().as_secs_f64();
            let (wall, cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds() - cpu);
            totals[i].0 += wall;
            totals[i].1 += cpu;
            println!(
                "round {round} {name:<8} wall {wall:.3} s  cpu {cpu:.2} s  \
                 (analysis {analysis:.3} s)  packages {found}"
            );
        }
    }
    let (base_wall, base_cpu) = totals[0];
    for ((name, _), (wall, cpu)) in hooks.iter().zip(&totals) {
        println!(
            "{name:<8} mean wall {:.3} s ({:.3}x)  mean cpu {:.2} s ({:.3}x)",
            wall / rounds as f64,
            wall / base_wall,
            cpu / rounds as f64,
            cpu / base_cpu
        );
    }
}
