//! The entities under short names, e.g. `use entity::prelude::*; Users::find()`.

pub use super::print_jobs::{Entity as PrintJobs, PrintJobStatus};
pub use super::printers::Entity as Printers;
pub use super::products::Entity as Products;
pub use super::team_members::Entity as TeamMembers;
pub use super::teams::Entity as Teams;
pub use super::users::Entity as Users;
