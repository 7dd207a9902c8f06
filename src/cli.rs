//! Subcommands and their output.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use kafkascope_sim::config::{self, Scope};
use kafkascope_sim::report;
use kafkascope_sim::scenario::{self, CheckerId, Count, Scenario, ScenarioError};

use crate::library;

/// Watch Apache Kafka work: a deterministic simulation of brokers, producers and faults.
#[derive(Parser, Debug)]
#[command(name = "kafkascope", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Run a scenario (a file, or the name of a shipped one) and say what happened.
    Run {
        /// A scenario file, or a shipped scenario's name (see `kafkascope scenarios`).
        scenario: String,
        /// Seed for every random choice (overrides the file's); the same seed gives the same run.
        #[arg(long)]
        seed: Option<u64>,
        /// Print a JSON report for scripts instead of the narrative.
        #[arg(long)]
        json: bool,
        /// Print every event of the trace (one per line) instead of the narrative.
        #[arg(long)]
        trace: bool,
        /// Also write a space-time diagram (SVG) of the run: around the first violation, or
        /// of the window given with --window.
        #[arg(long, value_name = "FILE.svg")]
        spacetime: Option<std::path::PathBuf>,
        /// The diagram's window, in ms: `A..B`.
        #[arg(long, requires = "spacetime")]
        window: Option<String>,
    },
    /// Run a scenario live and let real Kafka clients connect: broker N listens on port
    /// PORT + N - 1. Type faults at the prompt (`crash leader of user-events-0`, `heal`,
    /// `quit`); `--record` saves the session as a scenario that `kafkascope run` replays.
    Serve {
        /// A scenario file, or a shipped scenario's name.
        #[arg(default_value = "real-clients")]
        scenario: String,
        /// The address to listen on. Loopback unless you say otherwise: the simulated cluster
        /// has no authentication.
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
        /// broker-1's port; broker-N listens on PORT + N - 1 (0: each broker on a free port).
        #[arg(long, default_value_t = 9092)]
        port: u16,
        /// Virtual seconds per wall second (0.1 is slow motion).
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// When it stops, write the session (the scenario plus every connection, request and
        /// typed fault, at the virtual millisecond it applied) to this scenario file.
        #[arg(long, value_name = "FILE.toml")]
        record: Option<std::path::PathBuf>,
        /// Seed for every random choice (overrides the file's).
        #[arg(long)]
        seed: Option<u64>,
        /// Stop by itself at this virtual time (`90s`), as `quit` would.
        #[arg(long = "for", value_name = "DURATION")]
        until: Option<String>,
    },
    /// Check scenario files without running them.
    Validate {
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// List the shipped scenarios.
    Scenarios,
    /// Print a shipped scenario's file, to copy and edit.
    Show { name: String },
    /// List the Kafka settings (and simulator settings) a scenario may use.
    Configs,
    /// Take a guided lesson in the terminal: read, predict, break things, see why.
    ///
    /// Without a lesson, lists the course and asks; progress is saved after every step in the
    /// data directory (KAFKASCOPE_DATA_DIR to move it) and resumed next time.
    Learn {
        /// A lesson's name or number (`the-log`, `1`).
        lesson: Option<String>,
        /// Play the lessons of this folder instead of the shipped course.
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
        /// Start the lesson over, forgetting its saved progress.
        #[arg(long, requires = "lesson")]
        restart: bool,
        /// Do not read or save progress.
        #[arg(long)]
        no_save: bool,
    },
    /// For teachers: list lessons, or check a folder of them.
    Lessons {
        #[command(subcommand)]
        action: LessonsCmd,
    },
    /// Open the visual app (what `kafkascope` alone does), on the home screen or a scenario.
    Ui(UiArgs),
    /// Run a scenario or an experiment (a grid of configurations and a nemesis) over many
    /// seeds: tables, plots, an HTML report, and shrunk counterexamples.
    Explore(ExploreArgs),
}

/// What `kafkascope explore` sweeps and where its results go.
#[derive(Args, Debug)]
pub struct ExploreArgs {
    /// An experiment file, a scenario file, or a shipped scenario's name.
    pub file: String,
    /// Run seeds 0..N (default: the experiment's `seeds`).
    #[arg(long, conflicts_with = "seed_range")]
    pub seeds: Option<u64>,
    /// Run seeds A..B.
    #[arg(long)]
    pub seed_range: Option<String>,
    /// Parallel runs (default: the machine's cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Run one shard of the sweep, `i/n` (0-based), for batch systems; combine with --merge.
    #[arg(long)]
    pub shard: Option<String>,
    /// Where to write results (default: explore-out/<file name>).
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
    /// Combine the results in these directories (from --shard runs) instead of running.
    #[arg(long, num_args = 1..)]
    pub merge: Vec<std::path::PathBuf>,
    /// Do not shrink failing runs into counterexamples.
    #[arg(long)]
    pub no_shrink: bool,
}

/// How `kafkascope ui` (and `kafkascope` alone) opens the window.
#[derive(Args, Debug, Default)]
pub struct UiArgs {
    /// A scenario file or a shipped scenario's name to open at once.
    pub scenario: Option<String>,
    /// Seed (overrides the file's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Large type, high contrast, minimal chrome: for a projector.
    #[arg(long)]
    pub presenter: bool,
    /// Start paused at this virtual time, in ms.
    #[arg(long, value_name = "MS")]
    pub at: Option<u64>,
    /// Save a screenshot of the window to this PNG and exit.
    #[arg(long, value_name = "FILE.png")]
    pub screenshot: Option<std::path::PathBuf>,
    /// Show a second scenario beside the first, same seed, one timeline (say the fix of a
    /// failure: `kafkascope ui acks1-leader-crash --compare acks-all-leader-crash`).
    #[arg(long, requires = "scenario", value_name = "FILE|NAME")]
    pub compare: Option<String>,
    /// Compare under a changed setting: the right half runs the scenario (or `--compare`'s)
    /// with this change, `WHERE.KEY=VALUE` such as `producer.a.acks=all` or
    /// `broker.min.insync.replicas=2`. Repeatable.
    #[arg(
        long = "compare-set",
        requires = "scenario",
        value_name = "WHERE.KEY=VALUE"
    )]
    pub compare_set: Vec<String>,
    /// Start on this side-panel tab; `add-consumer` and `add-producer` open the
    /// Interventions tab with that form.
    #[arg(
        long,
        requires = "scenario",
        value_parser = clap::builder::PossibleValuesParser::new(
            kafkascope_ui::SideTab::NAMES.iter().copied()
        )
    )]
    pub tab: Option<String>,
    /// Open a lesson (its id or number) where your saved progress left off.
    #[arg(long, value_name = "ID", conflicts_with_all = ["scenario", "compare"])]
    pub lesson: Option<String>,
    /// With --lesson: open it on this step (1-based).
    #[arg(long, requires = "lesson", value_name = "N")]
    pub step: Option<usize>,
    /// Serve the scenario (`real-clients` when none is given) live to real Kafka clients
    /// (kafka-python, librdkafka, kcat, Java) on loopback, as `kafkascope serve` does, and
    /// show it as it happens; faults from the app apply now.
    #[arg(long, conflicts_with_all = ["compare", "compare_set", "lesson"])]
    pub serve: bool,
    /// With --serve: broker-1's port (broker-N's is PORT + N - 1; 0 picks free ports).
    #[arg(long, requires = "serve", value_name = "PORT")]
    pub port: Option<u16>,
    /// With --serve: virtual seconds per wall second (default 1).
    #[arg(long, requires = "serve", value_name = "X")]
    pub speed: Option<f64>,
}

#[derive(Subcommand, Debug)]
pub enum LessonsCmd {
    /// List the lessons of the shipped course (or of a folder) with their steps.
    List { dir: Option<std::path::PathBuf> },
    /// Check lessons: every reference resolves, every condition parses, every claim holds in
    /// the simulation and every task can be done (its reference solution passes) and is not
    /// done already (its check fails without it). Exit 0 when all is well.
    Check {
        /// A folder of lessons (default: the shipped course).
        dir: Option<std::path::PathBuf>,
    },
}

/// Exit codes: 0 when expectations hold, 1 when one fails, 2 on bad input.
pub fn main(cli: Cli) -> ExitCode {
    match cli.command {
        None => ui(UiArgs::default()),
        Some(Cmd::Ui(args)) => ui(args),
        Some(Cmd::Run {
            scenario,
            seed,
            json,
            trace,
            spacetime,
            window,
        }) => run(&scenario, seed, json, trace, spacetime.map(|p| (p, window))),
        Some(Cmd::Validate { files }) => validate(&files),
        Some(Cmd::Serve {
            scenario,
            bind,
            port,
            speed,
            record,
            seed,
            until,
        }) => serve(&scenario, bind, port, speed, record, seed, until),
        Some(Cmd::Learn {
            lesson,
            dir,
            restart,
            no_save,
        }) => learn(lesson, dir, restart, no_save),
        Some(Cmd::Lessons { action }) => match action {
            LessonsCmd::List { dir } => lessons_list(dir),
            LessonsCmd::Check { dir } => lessons_check(dir),
        },
        Some(Cmd::Scenarios) => {
            print!("{}", scenario_list());
            ExitCode::SUCCESS
        }
        Some(Cmd::Show { name }) => match library::find(&name) {
            Some(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("{}", unknown_scenario(&name));
                ExitCode::from(2)
            }
        },
        Some(Cmd::Configs) => {
            print!("{}", configs());
            ExitCode::SUCCESS
        }
        Some(Cmd::Explore(args)) => explore(args),
    }
}

fn course(dir: Option<&Path>) -> Result<kafkascope_lessons::Course, ExitCode> {
    let loaded = match dir {
        Some(d) => kafkascope_lessons::Course::load_dir(d),
        None => kafkascope_lessons::Course::shipped(),
    };
    loaded.map_err(|e| {
        match e {
            kafkascope_lessons::course::CourseError::Io(msg) => eprintln!("error: {msg}"),
            kafkascope_lessons::course::CourseError::Lessons(errors) => {
                let n = errors.len();
                for e in errors {
                    eprintln!("{}", render_error(e));
                }
                eprintln!(
                    "{n} lesson file{} with problems",
                    if n == 1 { "" } else { "s" }
                );
            }
        }
        ExitCode::from(2)
    })
}

fn learn(
    lesson: Option<String>,
    dir: Option<std::path::PathBuf>,
    restart: bool,
    no_save: bool,
) -> ExitCode {
    use kafkascope_lessons::progress::Store;
    use kafkascope_lessons::terminal::{Style, Terminal};
    let course = match course(dir.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let store = if no_save {
        None
    } else {
        Store::default_location()
    };
    if restart {
        if let (Some(store), Some(l)) = (&store, lesson.as_deref().and_then(|k| course.find(k))) {
            let (mut p, _) = store.load();
            if p.lessons.remove(&l.id).is_some() {
                if let Err(e) = store.save(&p) {
                    eprintln!(
                        "warning: could not reset the progress in {}: {e}",
                        store.path.display()
                    );
                }
            }
        }
    }
    let stdout = std::io::stdout();
    let color = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(80)
        .clamp(50, 120);
    let stdin = std::io::stdin();
    let echo = !stdin.is_terminal();
    let style = Style { width, color, echo };
    let mut t = Terminal::new(&course, stdin.lock(), stdout.lock(), style, store);
    match t.run(lesson.as_deref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn lessons_list(dir: Option<std::path::PathBuf>) -> ExitCode {
    let course = match course(dir.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    print!("{}", lesson_list(&course));
    ExitCode::SUCCESS
}

/// The course as a table of contents.
pub fn lesson_list(course: &kafkascope_lessons::Course) -> String {
    let mut s = format!("Lessons ({})\n", course.origin);
    for l in &course.lessons {
        let (p, t, _) = l.counts();
        s.push_str(&format!(
            "  {:>2}. {:<28} {}\n      {} ({} steps, {p} predictions, {t} tasks{})\n",
            l.number,
            l.id,
            l.title,
            l.summary,
            l.steps.len(),
            l.minutes.map(|m| format!(", {m} min")).unwrap_or_default()
        ));
    }
    s.push_str("\nStart one: kafkascope learn the-log (or kafkascope learn, to be asked)\n");
    s
}

fn lessons_check(dir: Option<std::path::PathBuf>) -> ExitCode {
    let course = match course(dir.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let lessons = &course.lessons;
    let jobs = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(lessons.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: std::sync::Mutex<Vec<(usize, Vec<kafkascope_lessons::check::Finding>)>> =
        Default::default();
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(l) = lessons.get(i) else { break };
                let f = kafkascope_lessons::check::check_lesson(l);
                results.lock().expect("results").push((i, f));
            });
        }
    });
    let mut results = results.into_inner().expect("results");
    results.sort_by_key(|r| r.0);
    let mut failed = 0;
    for (i, findings) in &results {
        let l = &lessons[*i];
        let (p, t, c) = l.counts();
        if findings.is_empty() {
            println!(
                "ok    {:>2}. {:<28} {} steps, {p} predictions, {t} tasks, {c} claims",
                l.number,
                l.id,
                l.steps.len()
            );
        } else {
            failed += 1;
            println!("FAIL  {:>2}. {}", l.number, l.id);
            for f in findings {
                println!("  {f}");
            }
        }
    }
    if failed > 0 {
        println!(
            "\n{failed} of {} lessons disagree with the simulation",
            lessons.len()
        );
        ExitCode::from(1)
    } else {
        println!("\nAll {} lessons agree with the simulation.", lessons.len());
        ExitCode::SUCCESS
    }
}

/// Opens the window. Without a display it says so and shows what the terminal can do.
fn ui(args: UiArgs) -> ExitCode {
    let UiArgs {
        scenario,
        seed,
        presenter,
        at,
        screenshot,
        compare,
        compare_set,
        tab,
        lesson,
        step: lesson_step,
        serve,
        port,
        speed,
    } = args;
    if let Some(x) = speed.filter(|x| !(*x > 0.0 && x.is_finite())) {
        eprintln!("kafkascope: --speed must be above 0, found {x}");
        return ExitCode::from(2);
    }
    let scenario = match (serve, scenario) {
        (true, None) => Some("real-clients".to_string()),
        (_, s) => s,
    };
    // Parsed here too, so a bad file gets the CLI's located diagnostics.
    let text_of = |arg: Option<String>| -> Result<Option<(String, String)>, String> {
        let Some(arg) = arg else { return Ok(None) };
        load(&arg)?;
        let text = std::fs::read_to_string(&arg)
            .ok()
            .or_else(|| library::find(&arg).map(str::to_string));
        Ok(text.map(|t| (arg, t)))
    };
    let (open, compare) = match (text_of(scenario), text_of(compare)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let options = kafkascope_ui::UiOptions {
        library: library::SCENARIOS
            .iter()
            .map(|(n, t)| kafkascope_ui::LibraryEntry::new(*n, *t))
            .collect(),
        open,
        compare,
        compare_set,
        seed,
        presenter,
        start_at_ms: at,
        tab: tab.as_deref().and_then(kafkascope_ui::SideTab::parse),
        screenshot: screenshot.map(|path| kafkascope_ui::ScreenshotPlan { path, frames: 8 }),
        lesson,
        lesson_step,
        serve: serve.then(|| {
            let d = kafkascope_ui::Serve::default();
            kafkascope_ui::Serve {
                port: port.unwrap_or(d.port),
                speed: speed.unwrap_or(d.speed),
            }
        }),
        ..Default::default()
    };
    match kafkascope_ui::run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ kafkascope_ui::UiError::Lesson(_)) => {
            eprintln!("kafkascope: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("kafkascope: {e}\n");
            eprint!("{}", intro());
            ExitCode::from(1)
        }
    }
}

fn explore(args: ExploreArgs) -> ExitCode {
    let ExploreArgs {
        file,
        seeds,
        seed_range,
        jobs,
        shard,
        out,
        merge,
        no_shrink,
    } = args;
    let file = file.as_str();
    use crate::explore::{self, Experiment, Options};
    let fail = |e: String| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    };
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(_) => match library::find(file) {
            Some(t) => t.to_string(),
            None if Path::new(file).exists() => return fail(format!("cannot read {file}")),
            None => {
                return fail(
                    unknown_scenario(file)
                        .trim_start_matches("error: ")
                        .to_string(),
                )
            }
        },
    };
    let exp = match Experiment::load(file, &text, library::find) {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let seeds = match (seeds, seed_range) {
        (Some(n), _) => 0..n,
        (None, Some(r)) => match explore::parse_range(&r) {
            Ok(r) => r,
            Err(e) => return fail(e),
        },
        (None, None) => 0..exp.default_seeds,
    };
    let shard = match shard.map(|s| explore::parse_shard(&s)).transpose() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let stem = Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "explore".into());
    let out = out.unwrap_or_else(|| Path::new("explore-out").join(stem));
    let jobs = jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let opts = Options {
        seeds,
        jobs,
        shard,
        out: out.clone(),
        merge,
        shrink: !no_shrink && shard.is_none(),
        progress: std::io::stderr().is_terminal(),
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    // Ctrl-C stops taking new runs; what finished is kept and reported.
    let _ = ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::SeqCst));
    eprintln!(
        "{}: {} configurations x {} seeds{} on {} jobs",
        exp.name,
        exp.points().len(),
        opts.seeds.end - opts.seeds.start,
        opts.shard
            .map(|(i, n)| format!(", shard {i}/{n}"))
            .unwrap_or_default(),
        opts.jobs
    );
    match explore::explore(&exp, &opts, stop.clone()) {
        Err(e) => fail(e),
        Ok(o) => {
            print!("{}", explore::summary::table(&o.summary));
            if stop.load(std::sync::atomic::Ordering::SeqCst) {
                println!(
                    "interrupted: {} of {} runs finished; their results are kept",
                    o.runs.len(),
                    o.planned
                );
            }
            for c in &o.counterexamples {
                println!(
                    "counterexample for {} (seed {}, {} violated, {} of {} fault commands): kafkascope run {}",
                    c.label,
                    c.seed,
                    c.checker,
                    c.faults.0,
                    c.faults.1,
                    c.file.display()
                );
            }
            println!(
                "results, plots and report: {}",
                out.join("report.html").display()
            );
            ExitCode::SUCCESS
        }
    }
}

pub fn intro() -> String {
    let mut s = String::from(
        "Kafkascope: watch Apache Kafka work, and break it.\n\n\
         Every run is a deterministic simulation of a Kafka cluster (brokers, controller, producers)\n\
         with faults on a schedule; the same scenario and seed always give the same run.\n\n\
         Try:\n  kafkascope learn                       # guided lessons, here in the terminal\n  \
         kafkascope ui                          # the visual app (also: kafkascope alone)\n  \
         kafkascope run acks1-leader-crash      # acks=1 loses an acknowledged write\n  \
         kafkascope run acks-all-leader-crash   # ...and acks=all does not\n  \
         kafkascope run kip101-1-high-watermark  # a bug from Kafka's history (KIP-101)\n  \
         kafkascope explore experiments/acks-and-min-insync.toml  # sweep configurations under faults\n\n\
         Commands: learn, lessons, ui, run, validate, scenarios, show, configs, explore\n\
         (kafkascope help <command>)\n\n",
    );
    s.push_str(&scenario_list());
    s
}

pub fn scenario_list() -> String {
    let mut s = String::from("Shipped scenarios\n");
    for (name, text) in library::SCENARIOS {
        let title = scenario::parse(name, text)
            .map(|sc| sc.name)
            .unwrap_or_else(|_| "(does not parse)".into());
        s.push_str(&format!("  {name:<28} {title}\n"));
    }
    s
}

pub fn configs() -> String {
    let mut s = String::new();
    s.push_str(
        "Cluster behaviour: [cluster] (Kafka 4.1 in KRaft mode unless a scenario says otherwise)\n",
    );
    for k in config::CLUSTER_KEYS {
        config_line(&mut s, k.name, &k.kind, k.default, k.doc);
    }
    s.push('\n');
    for (scope, title) in [
        (Scope::Broker, "Broker settings: [broker] or [brokers.N]"),
        (Scope::Topic, "Topic settings: in [[topics]]"),
        (
            Scope::Producer,
            "Producer settings: in [[producers]] (and a stream processor's [consumers.output])",
        ),
        (Scope::Consumer, "Consumer settings: in [[consumers]]"),
    ] {
        s.push_str(title);
        s.push('\n');
        for k in config::KEYS.iter().filter(|k| k.scope == scope) {
            config_line(&mut s, k.name, &k.kind, k.default, k.doc);
        }
        s.push('\n');
    }
    s.push_str(
        "Kafka settings the simulator does not model (a scenario that sets one is refused)\n",
    );
    for (name, scope, why) in config::UNMODELLED {
        let scope = match scope {
            Scope::Broker => "broker",
            Scope::Topic => "topic",
            Scope::Producer => "producer",
            Scope::Consumer => "consumer",
        };
        s.push_str(&format!("  {name:<46} {scope:<24} {why}\n"));
    }
    s.push('\n');
    s.push_str("Expectations: [expect]\n");
    for c in Count::ALL {
        s.push_str(&format!("  {:<24} count: {}\n", c.name(), c.doc()));
    }
    for c in CheckerId::ALL {
        s.push_str(&format!(
            "  {:<24} \"holds\" | \"violated\": {}\n",
            c.name(),
            c.doc()
        ));
    }
    s
}

/// One key of `kafkascope configs`: name, type, default, then its meaning.
fn config_line(s: &mut String, name: &str, kind: &config::Kind, default: &str, doc: &str) {
    s.push_str(&format!(
        "  {:<46} {:<24} default {}\n",
        name,
        kind.describe(),
        default
    ));
    s.push_str(&format!("      {doc}\n"));
}

fn unknown_scenario(name: &str) -> String {
    let mut s = format!("error: `{name}` is neither a file nor a shipped scenario");
    if let Some(n) = library::suggest(name) {
        s.push_str(&format!("\n  help: did you mean `{n}`?"));
    }
    s.push_str("\n  help: `kafkascope scenarios` lists the shipped ones");
    s
}

/// Loads a scenario from a path or the shipped library. The error is already user-facing.
pub fn load(arg: &str) -> Result<(String, Scenario), String> {
    let path = Path::new(arg);
    let (file, text) = if path.exists() {
        match std::fs::read_to_string(path) {
            Ok(t) => (arg.to_string(), t),
            Err(e) => return Err(format!("error: cannot read {arg}: {e}")),
        }
    } else if let Some(t) = library::find(arg) {
        (arg.to_string(), t.to_string())
    } else if arg.ends_with(".toml") || arg.contains('/') {
        return Err(format!("error: {arg}: no such file"));
    } else {
        return Err(unknown_scenario(arg));
    };
    scenario::parse(&file, &text)
        .map(|s| (file, s))
        .map_err(render_error)
}

/// Plain `file:line:col` text when piped (stable for scripts and tests); miette's graphical
/// report on a terminal.
fn render_error(e: ScenarioError) -> String {
    if std::io::stderr().is_terminal() {
        format!("{:?}", miette::Report::new(e))
    } else {
        e.to_string()
    }
}

fn serve(
    arg: &str,
    bind: String,
    port: u16,
    speed: f64,
    record: Option<std::path::PathBuf>,
    seed: Option<u64>,
    until: Option<String>,
) -> ExitCode {
    let (file, sc) = match load(arg) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(_) => library::find(&file).unwrap_or_default().to_string(),
    };
    let until = match until.map(|u| scenario::parse_duration(&u)) {
        None => None,
        Some(Ok(ms)) => Some(ms),
        Some(Err(help)) => {
            eprintln!(
                "error: --for needs a duration such as 90s or 2m{}",
                help.map(|h| format!(": {h}")).unwrap_or_default()
            );
            return ExitCode::from(2);
        }
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    // Ctrl-C (or SIGTERM) ends the session at the next millisecond; the recording is written.
    let _ = ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::SeqCst));
    let seed = seed.unwrap_or(sc.seed);
    let opts = kafkascope_gateway::ServeOptions {
        name: sc.name.clone(),
        scenario: sc,
        text,
        seed,
        bind,
        port,
        speed,
        record,
        until,
        stop,
    };
    match kafkascope_gateway::serve(opts) {
        Ok(o) => {
            println!(
                "stopped at {}: trace hash: {:016x}",
                kafkascope_sim::trace::fmt_time(o.end),
                o.trace_hash
            );
            if let Some(p) = o.recorded {
                println!("recorded: kafkascope run {}", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(
    arg: &str,
    seed: Option<u64>,
    json: bool,
    trace: bool,
    spacetime: Option<(std::path::PathBuf, Option<String>)>,
) -> ExitCode {
    let (file, sc) = match load(arg) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let seed = seed.unwrap_or(sc.seed);
    let run = report::run(&sc, seed);
    if let Some((path, window)) = spacetime {
        let first = run
            .findings
            .verdicts
            .iter()
            .filter_map(|v| v.violation.as_ref())
            .min_by_key(|v| v.index);
        let (from, to) = match window.map(|w| crate::explore::parse_range(&w)) {
            Some(Ok(r)) => (r.start, r.end),
            Some(Err(e)) => {
                eprintln!("error: --window: {}", e.trim_start_matches("--seed-range "));
                return ExitCode::from(2);
            }
            None => match first {
                Some(v) => crate::explore::spacetime::window_around(&run.trace, v.index),
                None => (sc.duration.saturating_sub(3_000), sc.duration),
            },
        };
        let title = format!("{} (seed {seed})", sc.name);
        let svg =
            crate::explore::spacetime::svg(&run.trace, from, to, first.map(|v| v.index), &title);
        if let Err(e) = std::fs::write(&path, svg) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
        eprintln!("space-time diagram: {}", path.display());
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&run.report).expect("report serialises")
        );
    } else if trace {
        for l in run.trace.lines() {
            println!("{l}");
        }
    } else {
        print!("{}", report::narrative(&sc, &run));
        println!("\nreproduce: kafkascope run {file} --seed {seed}");
    }
    if run.report.expectations_hold() {
        ExitCode::SUCCESS
    } else {
        if !json {
            eprintln!("error: an expectation of {file} failed (see Expectations above)");
        }
        ExitCode::from(1)
    }
}

fn validate(files: &[String]) -> ExitCode {
    let mut bad = false;
    for f in files {
        match load(f) {
            Ok((_, sc)) => println!("{f}: ok ({})", sc.name),
            Err(e) => {
                bad = true;
                eprintln!("{e}");
            }
        }
    }
    if bad {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
