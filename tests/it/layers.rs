//! The library's layers: foundation -> storage -> engine -> stages -> front ends. A
//! top-level module may import from its own layer or the layers above it, never from a
//! layer below, and the modules' imports may not form a cycle. This test reads every
//! `crate::` path (and `super::` path that reaches the crate root) in `src/` and checks
//! both, naming the file and line of an import that breaks either rule.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layers, top first, and their top-level modules in the order `lib.rs` lists them.
const LAYERS: &[(&str, &[&str])] = &[
    ("foundation", &["allocator", "domain", "error", "config"]),
    ("storage", &["warehouse"]),
    ("engine", &["queries", "engine"]),
    ("stages", &["derive", "ingest", "rating", "review", "returns", "report", "privacy", "equality", "compliance"]),
    ("front ends", &["demo", "console", "cli"]),
];

/// One use of another top-level module: (from, to, "file:line").
type Edge = (String, String, String);

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, modules)| modules.contains(&module))
}

/// Every problem with `edges`: an import from a lower layer, an unknown module, or a cycle.
fn problems(edges: &[Edge]) -> Vec<String> {
    let mut found = Vec::new();
    for (from, to, at) in edges {
        match (layer_of(from), layer_of(to)) {
            (Some(a), Some(b)) if b > a => found
                .push(format!("{at}: `{from}` ({}) imports `{to}` ({}), a layer below it", LAYERS[a].0, LAYERS[b].0)),
            (None, _) => found.push(format!("{at}: module `{from}` is in no layer: add it to LAYERS")),
            (_, None) => found.push(format!("{at}: module `{to}` is in no layer: add it to LAYERS")),
            _ => {}
        }
    }
    let mut graph: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    for (from, to, at) in edges {
        graph.entry(from).or_default().entry(to).or_insert(at);
    }
    if let Some(cycle) = find_cycle(&graph) {
        found.push(format!("import cycle: {}", cycle.join(" -> ")));
    }
    found
}

/// A cycle in the graph as its modules, each with the first import that makes the step.
fn find_cycle(graph: &BTreeMap<&str, BTreeMap<&str, &str>>) -> Option<Vec<String>> {
    fn visit<'a>(
        node: &'a str,
        graph: &BTreeMap<&'a str, BTreeMap<&'a str, &'a str>>,
        path: &mut Vec<(&'a str, &'a str)>,
        done: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|(n, _)| *n == node) {
            let mut cycle: Vec<String> = path[start..].iter().map(|(n, at)| format!("{n} ({at})")).collect();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(&node) {
            return None;
        }
        for (next, at) in graph.get(node).into_iter().flatten() {
            path.push((node, at));
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
            path.pop();
        }
        done.push(node);
        None
    }
    let mut done = Vec::new();
    graph.keys().find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

/// The module path of a source file under `src/` (`ingest/adapters/mod.rs` -> `ingest::adapters`).
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let file = parts.pop().expect("a file name");
    let stem = file.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// The top-level modules one line of `file` (module path `path`) names.
fn targets(line: &str, path: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    let code = line.split("//").next().unwrap_or("");
    let ident = |s: &str| s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>();
    for (at, _) in code.match_indices("crate::") {
        if at > 0 && code[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or("");
            found.extend(inner.split(',').map(|s| ident(s.trim())).filter(|s| !s.is_empty()));
        } else {
            found.push(ident(rest));
        }
    }
    for (at, _) in code.match_indices("super::") {
        if at > 0 && code[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let mut rest = &code[at..];
        let mut depth = path.len();
        while let Some(r) = rest.strip_prefix("super::") {
            rest = r;
            depth = depth.saturating_sub(1);
        }
        if depth == 0 {
            found.push(ident(rest));
        }
    }
    found.retain(|m| !m.is_empty() && m != "self");
    found
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// Every use of one top-level module by another in `src/`.
fn edges(src: &Path) -> Vec<Edge> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut edges = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src).expect("under src");
        let path = module_path(relative);
        let Some(from) = path.first() else { continue }; // lib.rs and main.rs
        let text = std::fs::read_to_string(&file).expect("read source");
        for (n, line) in text.lines().enumerate() {
            for to in targets(line, &path) {
                // `crate::Result` and `crate::Error` are the error module's, re-exported.
                let to = if to == "Result" || to == "Error" { "error".to_string() } else { to };
                if &to != from {
                    edges.push((from.clone(), to, format!("src/{}:{}", relative.display(), n + 1)));
                }
            }
        }
    }
    edges
}

#[test]
fn modules_import_only_from_their_layer_or_above_and_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = problems(&edges(&src));
    assert!(found.is_empty(), "layering broken:\n{}", found.join("\n"));
}

#[test]
fn lib_lists_every_module_in_layer_order() {
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).expect("lib.rs");
    let listed: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.split(';').next().expect("a module name"))
        .collect();
    let layered: Vec<&str> = LAYERS.iter().flat_map(|(_, modules)| modules.iter().copied()).collect();
    assert_eq!(listed, layered, "src/lib.rs must list the modules of LAYERS in that order");
}

#[test]
fn the_check_finds_an_upward_import_and_a_cycle() {
    let edge = |from: &str, to: &str| (from.to_string(), to.to_string(), format!("src/{from}/mod.rs:1"));
    assert!(problems(&[edge("rating", "warehouse"), edge("cli", "rating")]).is_empty());
    let upward = problems(&[edge("warehouse", "rating")]);
    assert_eq!(upward.len(), 1, "{upward:?}");
    assert!(
        upward[0].contains("src/warehouse/mod.rs:1: `warehouse` (storage) imports `rating` (stages)"),
        "{upward:?}"
    );
    let cycle = problems(&[edge("review", "rating"), edge("rating", "returns"), edge("returns", "review")]);
    assert_eq!(cycle.len(), 1, "{cycle:?}");
    assert!(cycle[0].starts_with("import cycle: rating"), "{cycle:?}");
    assert!(problems(&[edge("rating", "nowhere")])[0].contains("`nowhere` is in no layer"));
}

#[test]
fn imports_are_read_from_use_lines_paths_and_super() {
    let path = |p: &str| module_path(Path::new(p));
    assert_eq!(targets("use crate::warehouse::{Warehouse, tables};", &path("ingest/mod.rs")), ["warehouse"]);
    assert_eq!(targets("use crate::{queries, review};", &path("cli/case.rs")), ["queries", "review"]);
    assert_eq!(targets("    x = crate::engine::cells::date(1); // crate::cli", &path("rating/mod.rs")), ["engine"]);
    assert_eq!(targets("use super::kinds;", &path("ingest/parse.rs")), Vec::<String>::new());
    assert_eq!(targets("use super::super::time;", &path("ingest/adapters/mod.rs")), ["time"]);
    assert_eq!(targets("use super::rating;", &path("sar.rs")), ["rating"]);
}

/// Only the storage layer (and the engine's session, and the error type) names Delta Lake:
/// every stage writes through the warehouse's write API.
#[test]
fn only_storage_and_the_engine_use_delta_lake_directly() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let top = module_path(relative).first().cloned().unwrap_or_default();
        if ["warehouse", "engine", "error"].contains(&top.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.split("//").next().unwrap_or("").contains("deltalake::") {
                found.push(format!("src/{}:{}", relative.display(), n + 1));
            }
        }
    }
    assert!(found.is_empty(), "Delta Lake used outside the storage layer:\n{}", found.join("\n"));
}
