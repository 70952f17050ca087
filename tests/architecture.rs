//! The crate's rooms import each other without a circle (#18): measured from the code's own
//! `crate::` and `super::` paths, outside test modules, module by module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every module of the crate rooted at `root` (`a::b` → its file).
fn modules(root: &Path) -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap().with_extension("");
                let mut parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if parts.last().is_some_and(|p| p == "mod") {
                    parts.pop();
                }
                if parts == ["lib"] || parts == ["main"] {
                    parts.clear();
                }
                let text = std::fs::read_to_string(&path).unwrap();
                // Test modules may reach anywhere.
                let text = text
                    .split("#[cfg(test)]")
                    .next()
                    .unwrap_or_default()
                    .to_string();
                out.insert(parts.join("::"), text);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// The longest prefix of `path` that names a module.
fn resolve<'a>(path: &str, modules: &'a BTreeMap<String, String>) -> Option<&'a str> {
    let mut parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
    while !parts.is_empty() {
        if let Some((k, _)) = modules.get_key_value(&parts.join("::")) {
            return Some(k);
        }
        parts.pop();
    }
    None
}

/// The paths after each `prefix` in `text`, a `{a, b}` group split into one path each.
fn paths_after(text: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices(prefix) {
        if text[..at]
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
        {
            continue;
        }
        let rest = &text[at + prefix.len()..];
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '{'))
            .unwrap_or(rest.len());
        let path = &rest[..end];
        match path.split_once("::{") {
            Some((base, _)) => {
                let group = &rest[base.len() + 3..];
                let group = &group[..group.find('}').unwrap_or(group.len())];
                for item in group.split(',') {
                    let first = item.trim().split("::").next().unwrap_or_default();
                    out.push(format!("{base}::{first}"));
                }
                out.push(base.to_string());
            }
            None => out.push(path.trim_end_matches(':').to_string()),
        }
    }
    out
}

/// Module → the modules it imports.
fn graph(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules(root);
    let mut edges = BTreeMap::new();
    for (name, text) in &modules {
        let is_dir_module =
            name.is_empty() || root.join(name.replace("::", "/")).join("mod.rs").exists();
        let parent = if is_dir_module {
            name.rsplit_once("::").map_or("", |(p, _)| p)
        } else {
            name.rsplit_once("::").map_or("", |(p, _)| p)
        };
        let mut to = BTreeSet::new();
        for path in paths_after(text, "crate::") {
            if let Some(m) = resolve(&path, &modules) {
                to.insert(m.to_string());
            }
        }
        for path in paths_after(text, "super::") {
            let full = if parent.is_empty() {
                path
            } else {
                format!("{parent}::{path}")
            };
            if let Some(m) = resolve(&full, &modules) {
                to.insert(m.to_string());
            }
        }
        to.remove(name);
        to.remove("");
        edges.insert(name.clone(), to);
    }
    edges
}

/// Groups of modules that import each other in a loop (Tarjan's strongly connected
/// components of more than one module).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.edges.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low[v];
                    self.low.insert(v, lv.min(lw));
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low[v];
                    self.low.insert(v, lv.min(iw));
                }
            }
            if self.low[v] == self.index[v] {
                let mut group = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    group.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.found.push(group);
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn the_target_and_the_emulator_have_no_import_circles() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    for root in ["src", "emulator/src"] {
        let edges = graph(&manifest.join(root));
        assert!(edges.len() > 10, "{root}: the modules were not found");
        let (from, to) = if root == "src" {
            ("run", "writer")
        } else {
            ("app", "routes")
        };
        assert!(
            edges[from].contains(to),
            "{root}: imports were not read: {edges:?}"
        );
        assert_eq!(circles(&edges), Vec::<Vec<String>>::new(), "{root}");
    }
}

#[test]
fn a_circle_is_found_when_there_is_one() {
    let mut edges = BTreeMap::new();
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        edges
            .entry(from.to_string())
            .or_insert_with(BTreeSet::new)
            .insert(to.to_string());
    }
    edges.insert("d".into(), BTreeSet::new());
    assert_eq!(circles(&edges), vec![vec!["a", "b", "c"]]);
}

/// Lines of code of a file before its tests: neither blank nor comments.
fn code_lines(text: &str) -> usize {
    text.lines()
        .take_while(|l| !l.starts_with("#[cfg(test)]"))
        .filter(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with("//")
        })
        .count()
}

#[test]
fn no_file_holds_more_than_600_lines_of_code_before_its_tests() {
    fn walk(dir: &Path, out: &mut Vec<(usize, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((code_lines(&text), path.display().to_string()));
            }
        }
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    walk(&manifest.join("src"), &mut files);
    walk(&manifest.join("emulator/src"), &mut files);
    assert!(files.len() > 50, "the sources were not found");
    let over: Vec<_> = files.iter().filter(|(n, _)| *n > 600).collect();
    assert!(over.is_empty(), "over 600 lines of code: {over:?}");
    assert_eq!(
        code_lines("fn a() {}\n\n// note\n#[cfg(test)]\nmod tests {}\n"),
        1
    );
}
