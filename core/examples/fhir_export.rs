//! Write one exported FHIR R4 resource of every kind and status to a directory, for
//! validation by an independent implementation (`make test-fhir` runs `fhir.resources` on them).
//!
//!     cargo run -p haoyuan --example fhir_export -- target/fhir-samples

use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "target/fhir-samples".into()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        std::process::exit(1);
    }
    let samples = match haoyuan::fhir::samples::sample_exports() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sample scenario failed: {e}");
            std::process::exit(1);
        }
    };
    for (name, value) in &samples {
        let path = dir.join(format!("{name}.json"));
        let text = serde_json::to_string_pretty(value).expect("a serde_json::Value always serialises");
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
    }
    println!("wrote {} FHIR resources to {}", samples.len(), dir.display());
}
