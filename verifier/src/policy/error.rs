//! Policy errors: each with the file and line it is about, all reported at once.

use std::fmt;

/// One problem in a policy file or a file it references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// The file name as the caller gave it.
    pub file: String,
    /// 1-based line (0 when the problem is about the file as a whole).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

/// Every problem found in a policy; it is rejected whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct PolicyErrors {
    /// The problems, by file and line.
    pub errors: Vec<PolicyError>,
}

impl PolicyErrors {
    /// Wraps problems found by the caller (unreadable referenced files).
    pub fn new(errors: Vec<PolicyError>) -> Self {
        Self { errors }
    }
}

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "policy rejected ({} problem{})",
            self.errors.len(),
            if self.errors.len() == 1 { "" } else { "s" }
        )?;
        for error in &self.errors {
            write!(f, "\n  {error}")?;
        }
        Ok(())
    }
}

/// Collects errors against one file's text, turning byte offsets into lines.
#[derive(Debug)]
pub(crate) struct Sink<'t> {
    file: String,
    text: &'t str,
    pub errors: Vec<PolicyError>,
}

impl<'t> Sink<'t> {
    pub fn new(file: &str, text: &'t str) -> Self {
        Self {
            file: file.to_owned(),
            text,
            errors: Vec::new(),
        }
    }

    pub fn at(&mut self, offset: usize, message: impl Into<String>) {
        let (line, column) = line_column(self.text, offset);
        self.errors.push(PolicyError {
            file: self.file.clone(),
            line,
            column,
            message: message.into(),
        });
    }

    pub fn whole(&mut self, message: impl Into<String>) {
        self.errors.push(PolicyError {
            file: self.file.clone(),
            line: 0,
            column: 0,
            message: message.into(),
        });
    }

    /// An error about a referenced file, at the line that names it.
    pub fn at_line(&mut self, reference: &super::Reference, message: impl Into<String>) {
        self.errors.push(PolicyError {
            file: self.file.clone(),
            line: reference.line,
            column: reference.column,
            message: message.into(),
        });
    }

    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        line_column(self.text, offset)
    }
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
