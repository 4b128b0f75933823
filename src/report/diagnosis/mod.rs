//! TEMPORARY stub, replaced by the renderers' branch.
use crate::diagnosis::Diagnosis;
pub fn json(d: &Diagnosis) -> String {
    format!("{{\"failures\": {}}}\n", d.failures.len())
}
pub fn table(d: &Diagnosis, _s: &crate::report::table::Style) -> String {
    format!("{} failures\n", d.failures.len())
}
pub fn markdown(d: &Diagnosis) -> String {
    format!("{} failures\n", d.failures.len())
}
