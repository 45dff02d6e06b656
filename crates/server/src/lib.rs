//! stsgate server: the only crate that knows HTTP, wire shapes and status codes.

pub mod aliyun;
