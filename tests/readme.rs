//! The README's scenario example is a real, valid scenario: documentation that cannot rot.

#[test]
fn the_readme_example_scenario_parses_and_runs() {
    let readme = include_str!("../README.md");
    let start = readme.find("```toml\n").expect("README has a TOML example") + "```toml\n".len();
    let len = readme[start..].find("```").expect("closed");
    let text = &readme[start..start + len];
    let sc = kafkascope_sim::scenario::parse("README.md", text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sc.brokers, 3);
    assert_eq!(sc.faults.len(), 5);
    assert_eq!(sc.consumers.len(), 1, "the example shows a consumer");
    assert!(
        sc.consumers[0].output.is_some(),
        "and a stream processor's output"
    );
    let run = kafkascope_sim::report::run(&sc, sc.seed);
    assert!(run.report.events > 0);
}
