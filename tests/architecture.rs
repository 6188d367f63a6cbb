//! The crate's shape, checked: modules follow the data (text → encode → retrieve → …) with no import
//! cycle between them, and nothing that runs at inference depends on training.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module → the top-level modules its code names as `crate::<module>` (comments ignored).
fn module_imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "lib" || name == "main" {
            continue;
        }
        let mut code = String::new();
        collect_code(&path, &mut code);
        modules.insert(name, code);
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(m, code)| {
            let used = code
                .match_indices("crate::")
                .filter_map(|(i, _)| {
                    let rest = &code[i + "crate::".len()..];
                    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
                    Some(rest[..end].to_string()).filter(|t| t != m && names.contains(t))
                })
                .collect();
            (m.clone(), used)
        })
        .collect()
}

/// The code of a module file or folder, without `//` comments (doc links are not imports).
fn collect_code(path: &Path, out: &mut String) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            collect_code(&entry.unwrap().path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        for line in std::fs::read_to_string(path).unwrap().lines() {
            out.push_str(line.split("//").next().unwrap_or(""));
            out.push('\n');
        }
    }
}

#[test]
fn no_import_cycle_between_modules() {
    let imports = module_imports();
    assert!(imports.len() >= 10, "found only {:?}", imports.keys());
    // Depth-first search for a back edge; the path shows the cycle.
    fn visit<'a>(m: &'a str, g: &'a BTreeMap<String, BTreeSet<String>>, path: &mut Vec<&'a str>, done: &mut BTreeSet<&'a str>) {
        if let Some(i) = path.iter().position(|p| *p == m) {
            panic!("import cycle: {} → {m}", path[i..].join(" → "));
        }
        if !done.insert(m) {
            return;
        }
        path.push(m);
        for t in &g[m] {
            visit(t, g, path, done);
        }
        path.pop();
    }
    let mut done = BTreeSet::new();
    for m in imports.keys() {
        visit(m, &imports, &mut Vec::new(), &mut done);
    }
}

#[test]
fn inference_never_depends_on_training() {
    let imports = module_imports();
    for m in ["text", "encode", "retrieve", "model", "catalog", "documents", "io", "gpu", "web", "pipeline"] {
        if let Some(used) = imports.get(m) {
            assert!(!used.contains("train") && !used.contains("synth"), "{m} imports {used:?}");
        }
    }
}
