//! The gRPC services clients call; protobuf types stop here.
//!
//! - [`tasks`]: `qraft.v1.Tasks` (submit, get).
//! - [`admin`]: `qraft.v1.Admin` (node status).
//! - [`convert`]: domain types to and from protobuf, in one place.
//! - [`status`]: the one place errors become `tonic::Status`.

pub mod admin;
pub mod convert;
pub mod status;
pub mod tasks;

pub use admin::AdminService;
pub use tasks::TasksService;
