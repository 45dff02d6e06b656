//! The Alibaba Cloud dialect: the oss face (OSS REST) and its helpers.

pub mod cors;
pub mod xml;
