//! Pure decisions: deployment facts and the replacement groups' state in, a plan (or why not)
//! out. A decision a file, in the order a run takes them: is the deployment ours (deployment),
//! is its group in scope (scope), is now the moment (moment), what do the groups lack (groups),
//! did the attach take (readback), what do the load balancers lack (registration).

mod deployment;
mod groups;
mod moment;
mod readback;
mod registration;
mod scope;

pub use deployment::*;
pub use groups::*;
pub use moment::*;
pub use readback::*;
pub use registration::*;
pub use scope::*;

#[cfg(test)]
mod tests;
