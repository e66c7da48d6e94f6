//! docs/audit.md shows the worked example's output; this fails when the two differ, so the
//! numbers in the doc are always the ones the code produces.

#[allow(dead_code)]
#[path = "../examples/worked_example.rs"]
mod worked_example;

#[test]
fn the_doc_shows_what_the_worked_example_prints() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/audit.md"))
        .expect("docs/audit.md");
    let start = "<!-- worked-example:start -->\n```text\n";
    let end = "```\n<!-- worked-example:end -->";
    let from = doc.find(start).expect("start marker") + start.len();
    let to = doc.find(end).expect("end marker");
    let shown = &doc[from..to];
    let printed = worked_example::render();
    assert!(
        shown == printed,
        "docs/audit.md is stale: replace its worked example with the output of \
         `cargo run -p ledger --example worked_example`"
    );
}
