//! Integration tests of the store, one binary, shared helpers in `common`.

mod append;
mod buckets;
mod cache;
mod common;
mod group;
mod inline;
mod lifecycle;
mod listing;
mod multipart;
mod objects;
mod prop;
mod recovery;
mod sse;
