//! Browser form uploads (`multipart/form-data`, OSS PostObject and COS POST Object): the fields
//! before the file part, with bounded memory, then the file part as a stream. Each face checks
//! the form's signature and policy and stores the file; failures are a [`FormError`] it renders.

use axum::body::Body;
use futures::StreamExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// The largest non-file form field.
pub const MAX_FIELD: usize = 8 * 1024;
/// The most non-file fields a form may carry.
pub const MAX_FIELDS: usize = 128;
/// The most bytes a form may carry outside its file part (fields, headers, boundaries).
const MAX_FORM_OVERHEAD: usize = 1024 * 1024;

/// Why a form cannot be read.
#[derive(Debug)]
pub enum FormError {
    /// Occurs when the body is not `multipart/form-data` with a boundary.
    NotMultipart,
    /// Occurs when the body is not well-formed multipart (or its fields exceed 1 MiB).
    Malformed(String),
    /// Occurs when the form ends without a field named `file`.
    NoFile,
    /// Occurs when the form has more than [`MAX_FIELDS`] fields before the file.
    TooManyFields,
    /// Occurs when a field (named here) is longer than [`MAX_FIELD`] bytes.
    FieldTooLong(String),
    /// Occurs when a second `file` field follows the first.
    ExtraFile,
}

/// A form being read: first [`FormUpload::file`], then the file's stream, then
/// [`FormUpload::finish`].
pub struct FormUpload {
    form: multer::Multipart<'static>,
    budget: FormBudget,
    /// The fields before the file part, names lowercased, in order.
    pub fields: Vec<(String, String)>,
}

impl FormUpload {
    /// Starts reading `body` as a form whose `Content-Type` is `content_type`.
    pub fn new(content_type: &str, body: Body) -> Result<FormUpload, FormError> {
        let boundary = multer::parse_boundary(content_type).map_err(|_| FormError::NotMultipart)?;
        // Bytes outside the file part are counted: multer buffers a field's headers until it
        // finds their end, so an endless header must not grow memory without bound.
        let budget = FormBudget::default();
        let counted = {
            let budget = budget.clone();
            body.into_data_stream().map(move |chunk| {
                let chunk = chunk.map_err(std::io::Error::other)?;
                budget.spend(chunk.len())?;
                Ok::<_, std::io::Error>(chunk)
            })
        };
        Ok(FormUpload {
            form: multer::Multipart::new(counted, boundary),
            budget,
            fields: Vec::new(),
        })
    }

    /// Reads the fields up to the file part and returns it (its bytes are not counted against
    /// the overhead budget).
    pub async fn file(&mut self) -> Result<multer::Field<'static>, FormError> {
        loop {
            let mut field = self
                .form
                .next_field()
                .await
                .map_err(malformed)?
                .ok_or(FormError::NoFile)?;
            let name = field.name().unwrap_or("").to_ascii_lowercase();
            if name == "file" {
                self.budget.pause();
                return Ok(field);
            }
            if self.fields.len() >= MAX_FIELDS {
                return Err(FormError::TooManyFields);
            }
            let mut value = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(malformed)? {
                value.extend_from_slice(&chunk);
                if value.len() > MAX_FIELD {
                    return Err(FormError::FieldTooLong(name));
                }
            }
            self.fields
                .push((name, String::from_utf8_lossy(&value).into_owned()));
        }
    }

    /// After the file part (dropped by now): refuses a second `file` field.
    pub async fn finish(&mut self) -> Result<(), FormError> {
        self.budget.resume();
        if let Ok(Some(extra)) = self.form.next_field().await {
            if extra.name().is_some_and(|n| n.eq_ignore_ascii_case("file")) {
                return Err(FormError::ExtraFile);
            }
        }
        Ok(())
    }

    /// A field's value (names are lowercase).
    pub fn field(&self, name: &str) -> Option<&str> {
        field(&self.fields, name)
    }
}

/// A field's value in `fields` (names are lowercase).
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn malformed(e: multer::Error) -> FormError {
    FormError::Malformed(e.to_string())
}

/// Counts the bytes of a form outside its file part and fails the stream past
/// [`MAX_FORM_OVERHEAD`].
#[derive(Clone, Default)]
struct FormBudget {
    spent: Arc<AtomicUsize>,
    paused: Arc<AtomicBool>,
}

impl FormBudget {
    fn spend(&self, n: usize) -> Result<(), std::io::Error> {
        if self.paused.load(Ordering::Relaxed) {
            return Ok(());
        }
        if self.spent.fetch_add(n, Ordering::Relaxed) + n > MAX_FORM_OVERHEAD {
            return Err(std::io::Error::other(format!(
                "the form fields exceed {MAX_FORM_OVERHEAD} bytes"
            )));
        }
        Ok(())
    }
    fn pause(&self) {
        self.paused.store(true, Ordering::Relaxed);
    }
    fn resume(&self) {
        self.spent.store(0, Ordering::Relaxed);
        self.paused.store(false, Ordering::Relaxed);
    }
}
