//! Everything the CLI prints: styles (colour only when stdout is a terminal and `NO_COLOR` is
//! not set, through `anstream`), section headings, a small table printer that measures
//! characters rather than bytes (Norwegian letters), a sync progress line, and helpers to show
//! times and states.

use anstyle::{AnsiColor, Style};
use kidplan_api::Timestamp;
use kidplan_core::{Collection, LocalState, OutboxStatus};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

pub const BOLD: Style = Style::new().bold();
pub const DIM: Style = Style::new().dimmed();
pub const GREEN: Style = AnsiColor::Green.on_default();
pub const YELLOW: Style = AnsiColor::Yellow.on_default();
pub const RED: Style = AnsiColor::Red.on_default();
pub const CYAN: Style = AnsiColor::Cyan.on_default();
pub const MAGENTA: Style = AnsiColor::Magenta.on_default();

/// `text` wrapped in `style` (the escape codes are stripped later when colour is off).
pub fn paint(style: Style, text: impl std::fmt::Display) -> String {
    format!("{style}{text}{style:#}")
}

/// Prints a line to stdout, colour-aware.
#[macro_export]
macro_rules! out {
    () => { anstream::println!() };
    ($($arg:tt)*) => { anstream::println!($($arg)*) };
}

/// A section heading: `━━ 3. Title`.
pub fn heading(number: Option<usize>, title: &str) {
    out!();
    match number {
        Some(n) => out!(
            "{}",
            paint(
                BOLD.fg_color(Some(AnsiColor::Blue.into())),
                format!("━━ {n}. {title}")
            )
        ),
        None => out!("{}", paint(BOLD, format!("━━ {title}"))),
    }
}

/// A line of narration, indented.
pub fn say(text: impl std::fmt::Display) {
    out!("   {text}");
}

/// A success line: `   ✓ text`.
pub fn ok(text: impl std::fmt::Display) {
    out!("   {} {text}", paint(GREEN, "✓"));
}

/// A failed step: `   ✗ text`.
pub fn failed(text: impl std::fmt::Display) {
    out!("   {} {text}", paint(RED, "✗"));
}

/// A line said by the kindergarten's side of the demo.
pub fn kindergarten(text: impl std::fmt::Display) {
    out!("   {} {text}", paint(MAGENTA, "[the kindergarten]"));
}

/// Width in terminal columns, ignoring escape codes (good enough for Latin text).
fn width(s: &str) -> usize {
    let mut n = 0;
    let mut in_esc = false;
    for ch in s.chars() {
        if in_esc {
            if ch == 'm' {
                in_esc = false;
            }
        } else if ch == '\x1b' {
            in_esc = true;
        } else {
            n += 1;
        }
    }
    n
}

/// A plain table with a bold header row; cells may carry styles.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Prints the table indented by `indent` spaces.
    pub fn print(&self, indent: usize) {
        let cols = self.header.len();
        let mut w = vec![0usize; cols];
        for r in std::iter::once(&self.header).chain(&self.rows) {
            for (i, c) in r.iter().enumerate().take(cols) {
                w[i] = w[i].max(width(c));
            }
        }
        let pad = " ".repeat(indent);
        let line = |r: &[String], header: bool| {
            let mut s = String::new();
            for (i, c) in r.iter().enumerate().take(cols) {
                let cell = if header { paint(BOLD, c) } else { c.clone() };
                s.push_str(&cell);
                if i + 1 < cols {
                    s.push_str(&" ".repeat(w[i] - width(c) + 2));
                }
            }
            s
        };
        out!("{pad}{}", line(&self.header, true));
        let total: usize = w.iter().sum::<usize>() + 2 * cols.saturating_sub(1);
        out!("{pad}{}", paint(DIM, "─".repeat(total)));
        for r in &self.rows {
            out!("{pad}{}", line(r, false));
        }
    }
}

/// A timestamp as local `YYYY-MM-DD HH:MM`.
pub fn time(t: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(t.0)
        .map(|d| {
            d.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| "?".into())
}

/// A timestamp as local `HH:MM`.
pub fn clock(t: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(t.0)
        .map(|d| d.with_timezone(&chrono::Local).format("%H:%M").to_string())
        .unwrap_or_else(|| "?".into())
}

/// A local state, coloured: synced / pending / rejected.
pub fn local_state(s: &LocalState) -> String {
    match s {
        LocalState::Synced => paint(GREEN, "synced"),
        LocalState::Pending => paint(YELLOW, "pending (not sent yet)"),
        LocalState::Rejected { reason } => paint(RED, format!("rejected: {reason}")),
    }
}

/// An outbox status, coloured.
pub fn outbox_status(s: &OutboxStatus) -> String {
    match s {
        OutboxStatus::Pending => paint(YELLOW, "pending"),
        OutboxStatus::Sent => paint(GREEN, "sent"),
        OutboxStatus::Rejected { reason } => paint(RED, format!("rejected: {reason}")),
    }
}

/// A snake_case name of a serde enum value (`AbsenceReason::Sick` → `sick`).
pub fn name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s.replace('_', " "),
        Ok(serde_json::Value::Object(m)) => m
            .get("state")
            .or_else(|| m.get("kind"))
            .and_then(|s| s.as_str())
            .map(|s| s.replace('_', " "))
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// A sync progress line: listens to the core's change notifications (one per applied page) and
/// redraws `⠹ syncing… N pages applied` on a terminal; prints nothing on a pipe until [`Progress::done`].
pub struct Progress {
    pages: AtomicU32,
    tty: bool,
    label: String,
}

impl Progress {
    pub fn new(label: &str) -> Arc<Self> {
        use std::io::IsTerminal;
        Arc::new(Self {
            pages: AtomicU32::new(0),
            tty: std::io::stdout().is_terminal(),
            label: label.to_owned(),
        })
    }

    fn draw(&self, n: u32) {
        if self.tty {
            // The feed's length is not known in advance: a spinner and a page count.
            const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
            let frame = FRAMES[n as usize % FRAMES.len()];
            let mut o = anstream::stdout();
            let _ = write!(
                o,
                "\r   {} {}… {} applied",
                paint(CYAN, frame),
                self.label,
                paint(BOLD, format!("{n} pages"))
            );
            let _ = o.flush();
        }
    }

    /// Ends the line.
    pub fn done(&self) {
        if self.tty {
            let mut o = anstream::stdout();
            let _ = write!(o, "\r\x1b[2K");
            let _ = o.flush();
        }
    }
}

impl kidplan_core::ChangeListener for Progress {
    fn on_change(&self, collections: Vec<Collection>) {
        if collections.is_empty() {
            return;
        }
        let n = self.pages.fetch_add(1, Ordering::Relaxed) + 1;
        self.draw(n);
    }
}
