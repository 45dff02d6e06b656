//! The Tencent Cloud dialect: the cos face (COS XML API), the tc-sts face (STS `2018-08-13`),
//! their wire shapes, CAM policy rendering, formats, presigning and the provider client. Mirrors
//! `aliyun/` file for file.

pub mod check;
pub mod client;
pub mod cors_admin;
pub mod formats;
pub mod policy;
pub mod presign;
pub mod provider;
