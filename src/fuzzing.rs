//! Internals reached by the fuzz targets and property tests, behind the `fuzzing`
//! feature: not part of the documented API, and free to change.

pub use crate::bearer::challenge::{sanitize_description, Challenge};
pub use crate::bearer::extract::{b64token, parse_authorization};
pub use crate::bearer::rejection::{grpc_response, http_response, json_body};
#[cfg(feature = "token-endpoint")]
pub use crate::token_endpoint::form::decode_form;
