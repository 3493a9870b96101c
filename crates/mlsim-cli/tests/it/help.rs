//! `--help` of every subcommand, snapshotted: a change in the interface is a
//! visible change in review.

use crate::{mlsim, stdout};

#[test]
fn help_of_every_subcommand() {
    let commands: [&[&str]; 19] = [
        &[],
        &["run"],
        &["sim"],
        &["sim", "matmul"],
        &["sim", "attention"],
        &["sweep"],
        &["merge"],
        &["crossover"],
        &["validate"],
        &["calibrate"],
        &["presets"],
        &["presets", "list"],
        &["presets", "check"],
        &["presets", "new"],
        &["hw", "detect"],
        &["hw", "memory"],
        &["measure", "cpu"],
        &["presets", "show"],
        &["presets", "schema"],
    ];
    let mut all = String::new();
    for c in commands {
        let mut args: Vec<&str> = c.to_vec();
        args.push("--help");
        let o = mlsim(&args);
        assert!(o.status.success(), "{c:?}");
        all.push_str(&format!(
            "===== mlsim {} --help\n{}\n",
            c.join(" "),
            stdout(&o)
        ));
    }
    insta::assert_snapshot!(all);
}
