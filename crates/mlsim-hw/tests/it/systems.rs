//! System files (`systems/`) and chips' `[[interconnect]]` links: every
//! embedded system loads with the link it names, and broken files are
//! refused with the file, line and field.

use mlsim_hw::{LinkScope, Topology, parse_system};

#[test]
fn every_embedded_system_loads_and_is_named_after_its_file() {
    let systems: Vec<_> = mlsim_hw::system_presets().collect();
    assert!(systems.len() >= 4);
    for p in systems {
        let s = p.load().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.name, p.name, "{}", p.file);
        assert_eq!(p.file, format!("systems/{}.toml", p.name));
        assert!(!s.sources.is_empty());
        assert!(
            s.chip
                .interconnect
                .iter()
                .any(|l| l.name == s.scale_up.name)
        );
    }
}

/// NVLink 4 of the H100 datasheet: 900 GB/s both directions, so 450 a
/// direction, over 18 links.
#[test]
fn the_h100_links_are_the_datasheet_s_halved() {
    let s = mlsim_hw::load_system("hgx-h100-8").unwrap();
    assert_eq!(s.topology, Topology::Switch);
    assert_eq!(s.scale_up.scope, LinkScope::ScaleUp);
    assert_eq!(s.scale_up.bandwidth_bytes_per_s, 450e9);
    assert_eq!(s.scale_up.links, Some(18));
    // 8 adapters of 400 Gb/s for 8 GPUs: 50 GB/s a chip.
    assert_eq!(s.network_bandwidth_per_chip(), Some(50e9));
}

const GOOD: &str = r#"name = "my-node"
display_name = "a node"
kind = "system"
chip = "h100-sxm5"
chips_per_node = 8
scale_up = "NVLink 4"
topology = "switch"
sources = ["made up"]
"#;

/// Each broken variant of GOOD: (replace, with, expected start of the
/// message after the file name).
#[test]
fn broken_system_files_are_refused_with_a_located_diagnostic() {
    let cases = [
        (
            "chips_per_node = 8",
            "chips_per_node = 0",
            "s.toml:5:18: field `chips_per_node`: expected an integer of at least 1",
        ),
        (
            "\"NVLink 4\"",
            "\"NVLink 9\"",
            "s.toml:6:12: field `scale_up`: chip `h100-sxm5` has no link `NVLink 9`",
        ),
        (
            "\"switch\"",
            "\"mesh\"",
            "s.toml:7:12: field `topology`: unknown topology `mesh`",
        ),
        (
            "chip = \"h100-sxm5\"",
            "chip = \"h100-sxm6\"",
            "s.toml:4:8: field `chip`: chip `h100-sxm6` does not load",
        ),
        (
            "kind = \"system\"",
            "kind = \"library\"",
            "s.toml:3:8: field `kind`: expected kind = \"system\"",
        ),
        (
            "chips_per_node = 8",
            "chips_per_node = 8\nnodes = 2",
            "s.toml:6:9: field `nodes`: 2 nodes but no [network]",
        ),
        (
            "topology = \"switch\"",
            "topology = \"switch\"\nswitches = 4",
            "s.toml:8:1: field `switches`: unknown field",
        ),
    ];
    for (from, to, expected) in cases {
        let text = GOOD.replace(from, to);
        let err = parse_system(&text, "s.toml", None).unwrap_err().to_string();
        assert!(
            err.starts_with(expected),
            "{to}: got `{err}`, expected `{expected}...`"
        );
    }
    assert!(parse_system(GOOD, "s.toml", None).is_ok());
}

#[test]
fn a_network_needs_positive_numbers() {
    let text = format!(
        "{GOOD}\n[network]\nname = \"IB\"\nnics_per_node = 8\ngbit_s_per_nic = -400\nlatency_us = 3\n"
    );
    let err = parse_system(&text, "s.toml", None).unwrap_err().to_string();
    assert!(
        err.contains("field `network.gbit_s_per_nic`"),
        "got `{err}`"
    );
}

/// A chip's links: a scope other than scale-up or host, a link named
/// twice, a bandwidth of 0.
#[test]
fn broken_links_in_a_chip_file_are_refused() {
    let chip = mlsim_hw::chip_text("h100-sxm5").unwrap();
    let cases = [
        (
            "scope = \"scale-up\"",
            "scope = \"scale-out\"",
            "unknown scope `scale-out`",
        ),
        (
            "name = \"PCIe Gen5 x16\"",
            "name = \"NVLink 4\"",
            "link `NVLink 4` is given twice",
        ),
        (
            "bandwidth_gb_s = 450 ",
            "bandwidth_gb_s = 0 ",
            "field `interconnect[0].bandwidth_gb_s`",
        ),
    ];
    for (from, to, expected) in cases {
        assert!(chip.contains(from), "{from}");
        let err = mlsim_hw::parse_chip(&chip.replacen(from, to, 1), "c.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{to}: got `{err}`");
    }
}

/// The board's power by hand (h100-sxm5: idle 70 W, limit 700 W, memory
/// 0.3 of the rest): 70 + 630 x (0.5 + 0.3 x 1) = 574 W; full math and
/// memory are capped at the limit; nothing running is idle.
#[test]
fn board_power_between_idle_and_the_limit() {
    let p = mlsim_hw::load("h100-sxm5").unwrap().power.unwrap();
    assert_eq!((p.idle_w, p.limit_w, p.memory_share), (70.0, 700.0, 0.3));
    assert!((p.watts(0.5, 1.0) - 574.0).abs() < 1e-9);
    assert_eq!(p.watts(1.0, 1.0), 700.0);
    assert_eq!(p.watts(0.0, 0.0), 70.0);
    assert_eq!(p.watts(-1.0, 2.0), 70.0 + 630.0 * 0.3);
}

#[test]
fn a_power_table_needs_a_limit_and_an_idle_below_it() {
    let chip = mlsim_hw::chip_text("h100-sxm5").unwrap();
    let cases = [
        (
            "idle_w = 70 ",
            "idle_w = 700 ",
            "field `power.idle_w`: expected a number in [0, 700)",
        ),
        (
            "memory_share = 0.3 ",
            "memory_share = 1.5 ",
            "field `power.memory_share`",
        ),
        (
            "power_limit_w = 700 ",
            "# no limit ",
            "a [power] table needs the chip's power_limit_w",
        ),
    ];
    for (from, to, expected) in cases {
        assert!(chip.contains(from), "{from}");
        let err = mlsim_hw::parse_chip(&chip.replacen(from, to, 1), "c.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{to}: got `{err}`");
    }
}
