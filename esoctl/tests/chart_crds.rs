//! The Helm chart installs the CRDs `esoctl crd` prints, byte for byte: its copy
//! (deploy/charts/eso-rs/files/crds.yaml) must change with the CRD model.

use std::path::Path;
use std::process::Command;

const CHART_CRDS: &str = "../deploy/charts/eso-rs/files/crds.yaml";

#[test]
fn the_chart_holds_the_crds_esoctl_prints() {
    let out = Command::new(env!("CARGO_BIN_EXE_esoctl"))
        .arg("crd")
        .output()
        .expect("run esoctl crd");
    assert!(
        out.status.success(),
        "esoctl crd failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(CHART_CRDS);
    let chart = std::fs::read(&path).expect("read the chart's CRDs");
    let printed = String::from_utf8(out.stdout).expect("esoctl crd prints UTF-8");
    assert!(
        printed.matches("kind: CustomResourceDefinition").count() >= 25,
        "esoctl crd printed too few CRDs"
    );
    if chart != printed.as_bytes() {
        let chart = String::from_utf8_lossy(&chart);
        let line = chart
            .lines()
            .zip(printed.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| chart.lines().count().min(printed.lines().count()));
        panic!(
            "{} differs from `esoctl crd` from line {}; regenerate it with\n  \
             cargo run -p esoctl -- crd > deploy/charts/eso-rs/files/crds.yaml",
            path.display(),
            line + 1
        );
    }
}
