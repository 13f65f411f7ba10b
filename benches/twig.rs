//! Twig under its documented write limit: the binary applies N agents from
//! empty against the Twig emulator, whose token buckets run `TIME_SCALE`
//! times faster than documented (a minute lasts 60 / TIME_SCALE seconds).
//!
//! The rate bound of W writes with a bucket of B tokens refilled at R per
//! minute is `(W - B) / R` minutes: nothing can finish sooner. The ratio
//! wall / bound says how close pacing gets; the 429 count says whether it
//! got there by collecting refusals. Then a no-op plan's reads are compared
//! with the formula of `src/providers/twig/read.rs`, and a no-op apply's
//! writes with zero.
//!
//! `cargo bench --bench twig` (`TWINFORM_TWIG_AGENTS=100`, `TWINFORM_TWIG_SCALE=60`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use twinform::engine::emulation::FaultConfig;
use twinform::providers::twig::emulator::{self, Store};

const WRITE_PER_MINUTE: f64 = 10.0;
const WRITE_BURST: f64 = 15.0;

fn write_tree(dir: &Path, agents: usize, sources: usize) {
    let mut docs = Vec::new();
    for s in 0..sources {
        docs.push(format!(
            "kind: TwigDataSource\nname: source-{s:02}\ntype: website\nconfig: {{url: https://docs{s}.example.com}}\nsync_frequency: daily\n"
        ));
    }
    for i in 0..agents {
        let list = if sources == 0 {
            "[]".to_string()
        } else {
            format!("[source-{:02}]", i % sources)
        };
        docs.push(format!(
            "kind: TwigAgent\nname: agent-{i:03}\nsystem_prompt: |\n  You are agent {i}.\n  Answer from the documentation.\nmodel: gpt-4\nrag_strategy: cedar\ntemperature: 0.5\nmax_tokens: 400\ndata_sources: {list}\n"
        ));
    }
    std::fs::write(dir.join("twig.yaml"), docs.join("---\n")).unwrap();
}

fn run(endpoint: &str, dir: &Path, args: &[&str]) -> (Duration, i32) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_twinform"))
        .current_dir(dir)
        .env("TWIG_ENDPOINT", endpoint)
        .env("TWIG_API_KEY", "twigsk_test_bench")
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    if !matches!(code, 0 | 2) {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    (started.elapsed(), code)
}

struct Case {
    agents: usize,
    sources: usize,
}

async fn case(c: &Case, scale: f64) {
    let faults = FaultConfig {
        time_scale: scale,
        ..FaultConfig::default()
    };
    let emu = emulator::start_with("127.0.0.1:0", None, &faults, Store::default())
        .await
        .unwrap();
    let endpoint = emu.endpoint();
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), c.agents, c.sources);
    let stats = &emu.shared.stats;

    let (wall, code) = tokio::task::block_in_place(|| {
        run(&endpoint, dir.path(), &["apply", "--auto-approve", "."])
    });
    assert_eq!(code, 0, "apply failed");
    let writes = stats.writes() as f64;
    let minute = 60.0 / scale;
    let bound = ((writes - WRITE_BURST).max(0.0) / WRITE_PER_MINUTE) * minute;
    let refused = stats.with_status(429);
    println!(
        "| apply from empty | {} agents, {} data sources | {writes} | {refused} | {:.2} s | {bound:.2} s | {:.3} |",
        c.agents,
        c.sources,
        wall.as_secs_f64(),
        wall.as_secs_f64() / bound.max(f64::EPSILON)
    );

    stats.reset();
    let (_, code) = tokio::task::block_in_place(|| {
        run(&endpoint, dir.path(), &["plan", "--detailed-exitcode", "."])
    });
    let reads = stats.reads();
    // A list of several pages is read until two reads agree (twice when quiet).
    let page = |n: usize| {
        if n <= 200 {
            1
        } else {
            2 * n.div_ceil(200) as u64
        }
    };
    let formula =
        page(c.agents) + if c.sources > 0 { page(c.sources) } else { 0 } + c.agents as u64;
    println!(
        "| no-op plan (exit {code}) | {} agents | reads {reads} | formula {formula} | | | |",
        c.agents
    );

    stats.reset();
    let (_, code) = tokio::task::block_in_place(|| {
        run(&endpoint, dir.path(), &["apply", "--auto-approve", "."])
    });
    println!(
        "| no-op apply (exit {code}) | {} agents | writes {} | | | | |",
        c.agents,
        stats.writes()
    );
    emu.stop().await.unwrap();
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let agents: usize = std::env::var("TWINFORM_TWIG_AGENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let scale: f64 = std::env::var("TWINFORM_TWIG_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60.0);
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "twinform Twig benchmark · {cores} cores · Write {WRITE_PER_MINUTE}/min burst {WRITE_BURST}, time scale {scale} (a minute lasts {:.2} s)\n",
        60.0 / scale
    );
    println!("| operation | size | writes | answered 429 | wall | rate bound | ratio |\n|---|---|---|---|---|---|---|");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for c in [
        Case { agents, sources: 0 },
        Case {
            agents,
            sources: 10,
        },
    ] {
        rt.block_on(case(&c, scale));
    }
}
