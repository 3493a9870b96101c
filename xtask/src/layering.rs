//! The crate layering of ARCHITECTURE.md, checked from the manifests.

use std::path::Path;

use anyhow::Context;

/// The mlsim crates in layering order: each may depend (normal
/// dependencies) only on crates earlier in this list.
pub const ORDER: [&str; 9] = [
    "mlsim-roofline",
    "mlsim-quant",
    "mlsim-hw",
    "mlsim-workload",
    "mlsim-engine",
    "mlsim-calibrate",
    "mlsim-plot",
    "mlsim-cli",
    "mlsim-py",
];

/// Heavy external crates and the only crates allowed to use them.
pub const CONFINED: [(&str, &[&str]); 7] = [
    ("polars", &["mlsim-calibrate"]),
    ("clap", &["mlsim-cli", "xtask"]),
    ("plotters", &["mlsim-plot", "xtask"]),
    ("anyhow", &["mlsim-cli", "xtask"]),
    ("gemm", &["mlsim-cli"]),
    ("indicatif", &["mlsim-cli", "xtask"]),
    ("pyo3", &["mlsim-py"]),
];

/// Normal (non-dev, non-build) dependencies of a manifest: (name, optional).
fn normal_dependencies(manifest: &toml::Table) -> Vec<(String, bool)> {
    let Some(deps) = manifest.get("dependencies").and_then(|d| d.as_table()) else {
        return Vec::new();
    };
    deps.iter()
        .map(|(name, spec)| {
            let optional = spec
                .get("optional")
                .and_then(toml::Value::as_bool)
                .unwrap_or(false);
            (name.clone(), optional)
        })
        .collect()
}

/// Every violation found, one line each.
pub fn check(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut manifests: Vec<(String, toml::Table)> = Vec::new();
    for entry in std::fs::read_dir(root.join("crates"))? {
        let path = entry?.path().join("Cargo.toml");
        manifests.push(read(&path)?);
    }
    manifests.push(read(&root.join("xtask/Cargo.toml"))?);
    for (name, manifest) in &manifests {
        let deps = normal_dependencies(manifest);
        let my_rank = ORDER.iter().position(|c| c == name);
        for (dep, optional) in &deps {
            if let Some(dep_rank) = ORDER.iter().position(|c| c == dep)
                && let Some(mine) = my_rank
                && dep_rank >= mine
            {
                problems.push(format!(
                    "{name} depends on {dep}, which is not above it in the layering"
                ));
            }
            for (heavy, allowed) in CONFINED {
                if dep == heavy && !allowed.contains(&name.as_str()) {
                    problems.push(format!(
                        "{name} depends on {heavy}, allowed only in {}",
                        allowed.join(", ")
                    ));
                }
            }
            if name == "mlsim-roofline" && !optional {
                problems.push(format!(
                    "mlsim-roofline has a non-optional dependency on {dep}; it must build alone"
                ));
            }
        }
    }
    Ok(problems)
}

fn read(path: &Path) -> anyhow::Result<(String, toml::Table)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let name = table
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(toml::Value::as_str)
        .with_context(|| format!("{} has no package.name", path.display()))?
        .to_string();
    Ok((name, table))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_respects_the_layering() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let problems = check(root).unwrap();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn a_violation_is_caught() {
        let manifest: toml::Table = toml::from_str(
            "[package]\nname = \"mlsim-hw\"\n[dependencies]\nmlsim-engine = { path = \"x\" }\npolars = \"1\"\n",
        )
        .unwrap();
        let dir = std::env::temp_dir().join(format!("mlsim-layering-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("crates/mlsim-hw")).unwrap();
        std::fs::create_dir_all(dir.join("xtask")).unwrap();
        std::fs::write(
            dir.join("crates/mlsim-hw/Cargo.toml"),
            toml::to_string(&manifest).unwrap(),
        )
        .unwrap();
        std::fs::write(
            dir.join("xtask/Cargo.toml"),
            "[package]\nname = \"xtask\"\n",
        )
        .unwrap();
        let problems = check(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("mlsim-hw depends on mlsim-engine"));
        assert!(problems[1].contains("polars"));
    }
}
