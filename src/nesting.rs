//! A cap on how deeply one line's JSON may nest.
//!
//! The parser reads only a few top-level keys and skips everything else
//! without recursion, so deep nesting cannot overflow the stack; but a line
//! of `[[[[…` a hundred thousand levels deep is no log record, and the tool
//! says so instead of quietly accepting it.

/// The deepest nesting of arrays and objects a line may have.
pub const MAX_DEPTH: usize = 128;

/// Whether `line` opens more than [`MAX_DEPTH`] arrays or objects at once
/// (brackets inside strings do not count). A line with at most `MAX_DEPTH`
/// opening brackets in all is answered by one `memchr` pass.
pub fn too_deep(line: &[u8]) -> bool {
    let openers = memchr::memchr2_iter(b'[', b'{', line)
        .take(MAX_DEPTH + 1)
        .count();
    if openers <= MAX_DEPTH {
        return false;
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in line {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!(
            r#"{{"a":{}1{}}}"#,
            "[".repeat(depth - 1),
            "]".repeat(depth - 1)
        )
    }

    #[test]
    fn the_limit_itself_is_allowed() {
        assert!(!too_deep(nested(MAX_DEPTH).as_bytes()));
        assert!(too_deep(nested(MAX_DEPTH + 1).as_bytes()));
        assert!(too_deep("[".repeat(100_000).as_bytes()));
    }

    #[test]
    fn many_shallow_brackets_are_fine() {
        let wide = format!("[{}1]", "[],{},".repeat(1000));
        assert!(!too_deep(wide.as_bytes()));
    }

    #[test]
    fn brackets_in_strings_do_not_count() {
        let s = format!(r#"{{"user":"{}\"[{{"}}"#, "[".repeat(1000));
        assert!(!too_deep(s.as_bytes()));
        let escaped_quote = format!(r#"{{"a":"\\"{}}}"#, "[".repeat(200));
        assert!(too_deep(escaped_quote.as_bytes()));
    }
}
