//! Makes attacker-chosen log values safe to show on a terminal.
//!
//! User names, paths and events come from the people this tool is meant to
//! catch. Before a renderer prints one for a person, every character that
//! could act on the terminal or hide what the text says (control characters,
//! ANSI/OSC escapes, bidi overrides, zero-width characters) is shown as a
//! visible `\u{..}` escape instead.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as itself.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}'   // zero-width space/joiners, LRM, RLM
            | '\u{2028}' | '\u{2029}' // line and paragraph separators
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{FEFF}'              // zero-width no-break space (BOM)
            | '\u{FFF9}'..='\u{FFFB}' // interlinear annotations
        )
}

/// `s` with every unsafe character written as `\u{hex}`; a backslash is kept
/// as is. Borrows when nothing needs escaping, which is the common case.
pub fn for_terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(
            for_terminal("alice /api/orders/:id"),
            Cow::Borrowed(_)
        ));
        assert_eq!(for_terminal("Zoë 東京"), "Zoë 東京");
    }

    #[test]
    fn escape_sequences_are_neutralised() {
        assert_eq!(for_terminal("\u{1b}[31mx"), "\\u{1b}[31mx");
        assert_eq!(
            for_terminal("\u{1b}]8;;http://e\u{7}"),
            "\\u{1b}]8;;http://e\\u{7}"
        );
        assert_eq!(for_terminal("a\nb\rc\td"), "a\\u{a}b\\u{d}c\\u{9}d");
        assert_eq!(for_terminal("\u{9b}2J"), "\\u{9b}2J");
    }

    #[test]
    fn bidi_and_zero_width_are_visible() {
        assert_eq!(
            for_terminal("admin\u{202E}txt.exe"),
            "admin\\u{202e}txt.exe"
        );
        assert_eq!(for_terminal("a\u{2066}b\u{2069}"), "a\\u{2066}b\\u{2069}");
        assert_eq!(for_terminal("ad\u{200B}min"), "ad\\u{200b}min");
        assert_eq!(for_terminal("\u{FEFF}x"), "\\u{feff}x");
    }
}
