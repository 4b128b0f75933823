mod arm;
mod checks;
mod cloud;
mod facts;
mod ids;
mod reads;
mod target;
fn main() {}
