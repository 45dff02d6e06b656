//! `*` / `?` wildcard matching.
