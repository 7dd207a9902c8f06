//! The page's URL query, read as the desktop reads its flags: `?scenario=NAME`,
//! `?lesson=ID&step=N`, `?presenter`, `?seed=N`. A value that does not make sense is an error
//! the page shows, as the desktop's flags stop with a message.

use kafkascope_ui::{LibraryEntry, UiOptions};

/// The app's options for the query `search` (`?a=b&c`, or empty).
pub fn options(search: &str) -> Result<UiOptions, String> {
    let mut options = UiOptions {
        library: kafkascope_sim::library::SCENARIOS
            .iter()
            .map(|(n, t)| LibraryEntry::new(*n, *t))
            .collect(),
        ..Default::default()
    };
    for (key, value) in pairs(search) {
        match key.as_str() {
            "scenario" => {
                let text = if value == "sandbox" {
                    Some(kafkascope_ui::library::SANDBOX.to_string())
                } else {
                    kafkascope_sim::library::find(&value).map(str::to_string)
                };
                match text {
                    Some(t) => options.open = Some((value, t)),
                    None => {
                        let hint = kafkascope_sim::library::suggest(&value)
                            .map(|s| format!(" (did you mean `{s}`?)"))
                            .unwrap_or_default();
                        return Err(format!("there is no scenario `{value}`{hint}"));
                    }
                }
            }
            "lesson" => options.lesson = Some(value),
            "step" => options.lesson_step = Some(number(&key, &value)?),
            "seed" => options.seed = Some(number(&key, &value)?),
            "presenter" => options.presenter = value.is_empty() || value != "0",
            // Other parameters (a cache-buster, a tracking tag) are not ours.
            _ => {}
        }
    }
    Ok(options)
}

fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("`{key}` in the address needs a number, not `{value}`"))
}

/// `?a=b&c` as `[(a, b), (c, "")]`, percent-decoded.
fn pairs(search: &str) -> Vec<(String, String)> {
    search
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Percent-decoding (and `+` as a space, as forms write it).
fn decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
