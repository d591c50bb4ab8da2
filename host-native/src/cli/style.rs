//! Terminal styling. Output goes through `anstream`, which drops the colour
//! codes when the stream is not a terminal (or `NO_COLOR` is set).

use owo_colors::{OwoColorize, Style};

pub fn error() -> Style {
    Style::new().red().bold()
}
pub fn warning() -> Style {
    Style::new().yellow().bold()
}
pub fn ok() -> Style {
    Style::new().green().bold()
}
pub fn path() -> Style {
    Style::new().cyan()
}
pub fn dim() -> Style {
    Style::new().dimmed()
}
pub fn bold() -> Style {
    Style::new().bold()
}

/// Applies a style to text.
pub fn paint(s: impl std::fmt::Display, style: Style) -> String {
    format!("{}", s.style(style))
}
