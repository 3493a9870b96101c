//! Every embedded preset obeys the model's laws (mlsim_engine::conformance).

#[test]
fn every_preset_passes_the_conformance_suite() {
    let mut checked = 0;
    for preset in mlsim_hw::presets() {
        let setup = mlsim_hw::Setup::load(preset.name, &Default::default()).unwrap();
        let chip = &setup.chip;
        let report = mlsim_engine::conformance::check(&setup.target());
        assert!(
            report.violations.is_empty(),
            "{}: {:#?}",
            chip.name,
            report.violations
        );
        assert!(report.predictions >= 16 * 5);
        checked += 1;
    }
    assert!(checked >= 20);
}

/// The suite catches a broken chip: a doctored H200 whose fp16 path runs at
/// three times its boost clock (with memory a hundred times faster, so
/// compute decides) predicts runtimes below its own roofline.
#[test]
fn the_suite_catches_a_chip_that_beats_its_roofline() {
    let mut setup = mlsim_hw::Setup::load("h200", &Default::default()).unwrap();
    let chip = &mut setup.chip;
    let boost = chip.frequency_hz;
    if let Some(mlsim_hw::PathKind::Native { rate, .. }) = chip
        .compute
        .paths
        .get_mut(mlsim_quant::Dtype::Fp16)
        .map(|p| &mut p.kind)
    {
        rate.sustained_clock_hz = 3.0 * boost; // three times the boost clock: impossible
        rate.clock_source = mlsim_hw::ClockSource::Given;
    }
    for level in &mut chip.memory {
        level.bandwidth_bytes_per_s *= 100.0;
    }
    let report = mlsim_engine::conformance::check(&setup.target());
    assert!(
        report.violations.iter().any(|v| v.law == "above-roofline"),
        "{report:#?}"
    );
}

#[test]
fn the_original_model_is_exempt_from_two_laws_and_says_so() {
    let setup = mlsim_hw::Setup::load("t4-seed", &Default::default()).unwrap();
    let report = mlsim_engine::conformance::check(&setup.target());
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
    assert_eq!(report.exempt.len(), 2);
}
