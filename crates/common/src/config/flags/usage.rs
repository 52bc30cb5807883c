//! Help text: Go's `PrintDefaults` layout, or a kingpin-like listing.

use super::{FlagDef, FlagKind, FlagSet, FlagStyle};

impl FlagSet {
    /// The usage text printed for `-h`/`--help` and after a parse error.
    pub fn usage(&self) -> String {
        match self.style {
            FlagStyle::Go => self.go_usage(),
            FlagStyle::Kingpin => self.kingpin_usage(),
        }
    }

    /// Go's `Usage of <program>:` followed by `PrintDefaults` output, flags sorted by name.
    fn go_usage(&self) -> String {
        let mut out = if self.program.is_empty() {
            "Usage:\n".to_owned()
        } else {
            format!("Usage of {}:\n", self.program)
        };
        for def in self.defs.values() {
            let (placeholder, help) = unquote_usage(def);
            let mut line = format!("  -{}", def.name);
            if !placeholder.is_empty() {
                line.push(' ');
                line.push_str(&placeholder);
            }
            // One-letter bool flags keep their help on the same line, as in Go.
            if line.len() <= 4 {
                line.push('\t');
            } else {
                line.push_str("\n    \t");
            }
            line.push_str(&help.replace('\n', "\n    \t"));
            if !def.default.is_zero() {
                line.push_str(&format!(" (default {})", def.default.usage_default()));
            }
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    /// `usage: <program> [<flags>]` and one line per flag, kingpin's shape.
    fn kingpin_usage(&self) -> String {
        let mut out = format!("usage: {} [<flags>]\n\n\nFlags:\n", self.program);
        let mut rows = vec![(
            "  -h, --help".to_owned(),
            "Show context-sensitive help.".to_owned(),
        )];
        for def in self.defs.values() {
            let short = match def.short {
                Some(c) => format!("  -{c}, "),
                None => "      ".to_owned(),
            };
            let flag = if def.kind == FlagKind::Bool {
                format!("--[no-]{}", def.name)
            } else if def.default.is_zero() {
                format!("--{}={}", def.name, def.name.to_uppercase())
            } else {
                format!("--{}={}", def.name, def.default.usage_default())
            };
            let repeat = if def.kind == FlagKind::StringList {
                " ..."
            } else {
                ""
            };
            rows.push((format!("{short}{flag}{repeat}"), def.help.clone()));
        }
        let width = rows.iter().map(|(f, _)| f.len()).max().unwrap_or(0);
        for (flag, help) in rows {
            out.push_str(&format!("{flag:<width$}  {help}\n"));
        }
        out
    }
}

/// Go's `flag.UnquoteUsage`: a back-quoted word in the help names the value; otherwise the
/// type's name (`string`, `int`, `duration`, ...; nothing for bools, `value` for custom types).
fn unquote_usage(def: &FlagDef) -> (String, String) {
    let help = &def.help;
    if let Some(start) = help.find('`')
        && let Some(len) = help[start + 1..].find('`')
    {
        let name = &help[start + 1..start + 1 + len];
        let text = format!("{}{}{}", &help[..start], name, &help[start + 2 + len..]);
        return (name.to_owned(), text);
    }
    let name = match def.kind {
        FlagKind::Bool => "",
        FlagKind::GoDuration => "duration",
        FlagKind::Float => "float",
        FlagKind::Int => "int",
        FlagKind::String => "string",
        FlagKind::Uint => "uint",
        _ => "value",
    };
    (name.to_owned(), help.clone())
}
