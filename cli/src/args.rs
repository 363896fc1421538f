//! Command-line arguments (clap derive): global options, the `demo` and `serve` commands, and
//! the everyday parent commands. Every command has `--help`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use kidplan_api::Day;
use std::net::SocketAddr;
use std::path::PathBuf;

const ABOUT: &str = "Kidplan in the terminal: the parent app of a Norwegian kindergarten system.";

const LONG_ABOUT: &str = "\
Kidplan in the terminal: the parent app of a Norwegian kindergarten system.

Start with `kidplan demo`: it runs a reference server inside this process and plays a
parent's day (login, sync, an absence reported offline, messages, telemetry, export, logout).

The everyday commands talk to a Kidplan server (`--server`, or run one with `kidplan serve`)
and keep their data in the data directory (`--data-dir`):

  accounts.json            the accounts on this device (no secrets, no contact details)
  accounts/<id>/           one encrypted SQLCipher database per account, plus cached files
  secrets.json             the secret store: refresh/access tokens and each account's database
                           key, one JSON file with mode 0600 (kidplan-core's FileSecretStore)
  server-url               the server of the last login (used when --server is not given)

`kidplan logout` revokes the session on the server and deletes the account's database,
files and secrets from the data directory.";

#[derive(Parser, Debug)]
#[command(name = "kidplan", version, about = ABOUT, long_about = LONG_ABOUT)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Kidplan server URL (https://, or http:// on loopback). Default: the server of the last
    /// login, else http://127.0.0.1:8080 (what `kidplan serve` listens on).
    #[arg(long, env = "KIDPLAN_SERVER", global = true)]
    pub server: Option<String>,
    /// Where accounts, encrypted databases and secrets (secrets.json, mode 0600) are kept.
    /// Default: $XDG_DATA_HOME/kidplan, ~/.local/share/kidplan, or ./.kidplan.
    #[arg(long, env = "KIDPLAN_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Language of notification texts.
    #[arg(long, value_enum, default_value_t = Lang::Nb, global = true)]
    pub lang: Lang,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// Norwegian Bokmål.
    Nb,
    /// Norwegian Nynorsk.
    Nn,
    /// English.
    En,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Play a parent's day against a reference server started inside this process.
    ///
    /// Needs nothing set up: the server runs on an ephemeral 127.0.0.1 port with a fresh,
    /// seeded data directory in a temporary folder, and the app's data goes to another
    /// temporary folder; both are removed at the end. Exit status 0 only when every step that
    /// ran succeeded.
    Demo,
    /// Run the reference server with the seeded demo kindergarten (Ctrl-C stops it).
    ///
    /// With --data-dir (or KIDPLAN_DATA_DIR) the server keeps its database (kidplan.db) and
    /// files (files/) there; without, in a temporary directory removed on exit. Log in as the
    /// demo parent with `kidplan login kari.nordmann@example.org`; the code is printed by
    /// this command (the demo server's email outbox).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        /// Real providers (Mailgun, LinkMobility, FCM, APNs) and the send queue's retry policy,
        /// a TOML file described in server/README.md. Without it, e-mail, SMS and pushes go to
        /// the server's outbox tables. A bad file stops the server with one line naming the
        /// setting.
        #[arg(long, value_name = "FILE")]
        providers: Option<PathBuf>,
    },
    /// Log in with a one-time code sent to an email address or phone number.
    ///
    /// Without --code, asks the server to send a code and reads it from stdin.
    Login {
        /// Email address or phone number (+47...).
        contact: String,
        /// The code you received (skips asking the server for a new one).
        #[arg(long)]
        code: Option<String>,
    },
    /// List your children (from the local cache).
    Children,
    /// Show a child's log (barnelogg), newest first.
    Log {
        /// The child's first name (case-insensitive) or id.
        child: String,
        /// How many entries to show.
        #[arg(long, default_value_t = 10)]
        limit: u32,
    },
    /// List message threads, or show one thread's messages.
    Messages {
        /// A thread id (or the start of one, or a word of its subject) to show.
        thread: Option<String>,
        /// Answer the thread with this text (needs THREAD).
        #[arg(long, requires = "thread")]
        reply: Option<String>,
    },
    /// Report, list or withdraw absences.
    #[command(subcommand)]
    Absence(AbsenceCmd),
    /// Register a holiday (ferie) for a child.
    Holiday {
        /// The child's first name (case-insensitive) or id.
        child: String,
        /// First day, YYYY-MM-DD.
        #[arg(long, value_parser = parse_day)]
        from: Day,
        /// Last day, YYYY-MM-DD.
        #[arg(long, value_parser = parse_day)]
        to: Day,
        /// A note for the kindergarten.
        #[arg(long)]
        note: Option<String>,
    },
    /// Change your contact details, or confirm a new e-mail address or phone number.
    #[command(subcommand)]
    Contact(ContactCmd),
    /// Show a child's consents with their history.
    Consents {
        /// The child's first name (case-insensitive) or id.
        child: String,
    },
    /// List the reminders (påminnelser) due in the coming days, from the local cache.
    Reminders,
    /// Pull changes from the server and send queued actions.
    Sync,
    /// Export your data (machine-readable JSON) into a directory.
    Export {
        /// Directory to write the export into (created if missing).
        dir: PathBuf,
    },
    /// Anonymous telemetry.
    #[command(subcommand)]
    Telemetry(TelemetryCmd),
    /// Your privacy rights: see your requests, ask for a right, correct your data or your
    /// child's, object, export everything.
    #[command(subcommand)]
    Privacy(PrivacyCmd),
    /// Log out: revoke the session and delete the account's data and secrets from this device.
    Logout,
}

#[derive(Subcommand, Debug)]
pub enum AbsenceCmd {
    /// Report an absence (queued, then sent).
    Report {
        /// The child's first name (case-insensitive) or id.
        child: String,
        /// First day, YYYY-MM-DD.
        #[arg(long, value_parser = parse_day)]
        from: Day,
        /// Last day, YYYY-MM-DD.
        #[arg(long, value_parser = parse_day)]
        to: Day,
        /// Why the child is absent.
        #[arg(long, value_enum)]
        reason: Reason,
        /// A note for the kindergarten.
        #[arg(long)]
        note: Option<String>,
    },
    /// List absence reports with their state.
    List,
    /// Withdraw an absence report.
    Withdraw {
        /// The absence id (or its first characters, as shown by `absence list`).
        id: String,
    },
}

/// The contact details a guardian corrects themselves (`contact change`, `privacy correct`);
/// an empty value removes the detail.
#[derive(Args, Debug)]
pub struct ContactArgs {
    /// A new e-mail address (confirmed by a code sent to it).
    #[arg(long)]
    pub email: Option<String>,
    /// A new phone number (confirmed by a code sent to it).
    #[arg(long)]
    pub phone: Option<String>,
    /// The street address.
    #[arg(long)]
    pub address: Option<String>,
    /// The postcode.
    #[arg(long)]
    pub postal_code: Option<String>,
}

impl ContactArgs {
    /// The change these details make, nothing else changed.
    pub fn into_change(self) -> kidplan_core::ContactChange {
        kidplan_core::ContactChange {
            email: self.email,
            phone: self.phone,
            address: self.address,
            postal_code: self.postal_code,
            ..Default::default()
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum ContactCmd {
    /// Change contact details. A new e-mail address or phone number gets a code; it is yours
    /// after `kidplan contact confirm CODE`. An empty value removes the detail.
    Change {
        #[command(flatten)]
        contact: ContactArgs,
    },
    /// Confirm a new e-mail address or phone number with the code sent to it.
    Confirm {
        /// The 6-digit code.
        code: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum PrivacyCmd {
    /// Who to ask about your data: the controller (each kindergarten's manager), the privacy
    /// officer (personvernombud), and where to complain (Datatilsynet).
    Info,
    /// Your privacy requests and the kindergarten's answers (after a sync).
    List,
    /// Ask the kindergarten for access, erasure or restriction of processing (queued, then
    /// sent). An accepted erasure deletes your account on the server and on this device.
    Request {
        /// The right.
        #[arg(value_enum)]
        right: Right,
        /// A note for the kindergarten.
        #[arg(long)]
        note: Option<String>,
    },
    /// Correct your own contact details at once (rectification); empty text clears a field.
    Correct {
        #[command(flatten)]
        contact: ContactArgs,
        /// Free text about you for the kindergarten (empty removes it).
        #[arg(long)]
        info: Option<String>,
        /// Your corrected given name(s).
        #[arg(long)]
        first_name: Option<String>,
        /// Your corrected family name.
        #[arg(long)]
        last_name: Option<String>,
        /// Your corrected relation to a child: `CHILD=RELATION` (the child's first name or id;
        /// mother, father, parent, guardian or other). Repeat for several children.
        #[arg(long = "relation", value_name = "CHILD=RELATION")]
        relations: Vec<String>,
    },
    /// Ask the kindergarten to correct a child's free text (allergies, needs); it accepts or
    /// declines, and the answer reaches this device.
    CorrectChild {
        /// The child's first name (case-insensitive) or id.
        child: String,
        /// The corrected text.
        #[arg(long)]
        info: String,
        /// A note for the kindergarten.
        #[arg(long)]
        note: Option<String>,
    },
    /// Object: to analytics (this device stops counting at once) or to photo sharing (photos
    /// of your children are no longer shown to other families).
    Object {
        #[arg(value_enum)]
        to: Objection,
    },
    /// Export everything the server and this device hold about you (access, portability).
    Export {
        /// Directory to write the export into (created if missing).
        dir: PathBuf,
    },
}

/// A right the `privacy request` command asks for.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Right {
    Access,
    Erasure,
    Restriction,
    Portability,
}

/// What an objection is against.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Objection {
    Analytics,
    PhotoSharing,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Sick,
    Appointment,
    Family,
    Other,
}

#[derive(Subcommand, Debug)]
pub enum TelemetryCmd {
    /// Print the next anonymous telemetry report exactly as it would be sent (the raw bytes,
    /// padding included, on stdout).
    Preview,
    /// Whether anonymous usage counting is on.
    Status,
    /// Switch anonymous usage counting on.
    On,
    /// Switch anonymous usage counting off (deletes everything counted and pending).
    Off,
}

/// A `YYYY-MM-DD` day (also `today` and `tomorrow`).
pub fn parse_day(s: &str) -> Result<Day, String> {
    match s {
        "today" => return Ok(Day::today()),
        "tomorrow" => return Ok(Day::today().plus_days(1)),
        _ => {}
    }
    s.parse::<Day>()
        .map_err(|_| format!("`{s}` is not a date; write it as YYYY-MM-DD, e.g. 2026-03-14"))
}
