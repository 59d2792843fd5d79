//! Word-level diff of two texts, for long values such as notes and
//! descriptions: a reader sees the three words that changed instead of two
//! whole paragraphs side by side.
//!
//! A longest-common-subsequence over words and the whitespace between them,
//! after trimming the common prefix and suffix (so one edit in a long text
//! stays cheap however long the text is). The table is bounded: above
//! [`MAX_CELLS`] the changed middle is shown as one removal and one addition
//! instead, so a pasted 5,000-word rewrite can never freeze the page.

/// How a piece of text fared between the two versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Same,
    Removed,
    Added,
}

/// A run of text with one fate. Concatenating the `Same` and `Removed`
/// segments gives the old text back; `Same` and `Added`, the new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub edit: Edit,
    pub text: String,
}

/// Largest LCS table (old tokens × new tokens) worth computing. A million
/// cells of `u16` is 2 MB and a few milliseconds, even in the browser.
pub const MAX_CELLS: usize = 1_000_000;

/// The word diff of `old` and `new`: runs of unchanged text, and within each
/// changed stretch first what was removed, then what was added.
pub fn word_diff(old: &str, new: &str) -> Vec<Segment> {
    let a = tokens(old);
    let b = tokens(new);
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    let (mid_a, mid_b) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);

    let mut ops: Vec<(Edit, &str)> = Vec::with_capacity(a.len() + b.len());
    ops.extend(a[..prefix].iter().map(|t| (Edit::Same, *t)));
    if (mid_a.len() + 1).saturating_mul(mid_b.len() + 1) <= MAX_CELLS {
        lcs_ops(mid_a, mid_b, &mut ops);
    } else {
        ops.extend(mid_a.iter().map(|t| (Edit::Removed, *t)));
        ops.extend(mid_b.iter().map(|t| (Edit::Added, *t)));
    }
    ops.extend(a[a.len() - suffix..].iter().map(|t| (Edit::Same, *t)));
    group(absorb_lone_spaces(ops))
}

/// Words and the whitespace runs between them, in order, losing nothing.
fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_space = None;
    for (i, c) in text.char_indices() {
        let space = c.is_whitespace();
        if in_space.is_some_and(|s| s != space) {
            out.push(&text[start..i]);
            start = i;
        }
        in_space = Some(space);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Appends the edit script of `a` -> `b`, along their longest common
/// subsequence.
fn lcs_ops<'t>(a: &[&'t str], b: &[&'t str], ops: &mut Vec<(Edit, &'t str)>) {
    ops.extend(super::lcs::align(a, b).into_iter().filter_map(|step| match step {
        (Some(i), Some(_)) => Some((Edit::Same, a[i])),
        (Some(i), None) => Some((Edit::Removed, a[i])),
        (None, Some(j)) => Some((Edit::Added, b[j])),
        (None, None) => None,
    }));
}

/// A space kept between two changes reads as noise (`a` -> `x`, ` ` kept,
/// `b` -> `y`): fold it into the change on both sides (`a b` -> `x y`).
fn absorb_lone_spaces(ops: Vec<(Edit, &str)>) -> Vec<(Edit, &str)> {
    let mut out = Vec::with_capacity(ops.len());
    for (k, &(edit, text)) in ops.iter().enumerate() {
        let changed = |o: Option<&(Edit, &str)>| o.is_some_and(|(e, _)| *e != Edit::Same);
        let between_changes = k > 0 && changed(ops.get(k - 1)) && changed(ops.get(k + 1));
        if edit == Edit::Same && between_changes && text.trim().is_empty() {
            out.push((Edit::Removed, text));
            out.push((Edit::Added, text));
        } else {
            out.push((edit, text));
        }
    }
    out
}

/// Merges tokens into segments; each changed stretch becomes one removal
/// followed by one addition.
fn group(ops: Vec<(Edit, &str)>) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    let (mut removed, mut added) = (String::new(), String::new());
    let flush = |out: &mut Vec<Segment>, removed: &mut String, added: &mut String| {
        for (edit, text) in [(Edit::Removed, removed), (Edit::Added, added)] {
            if !text.is_empty() {
                out.push(Segment { edit, text: std::mem::take(text) });
            }
        }
    };
    for (edit, text) in ops {
        match edit {
            Edit::Removed => removed.push_str(text),
            Edit::Added => added.push_str(text),
            Edit::Same => {
                flush(&mut out, &mut removed, &mut added);
                match out.last_mut() {
                    Some(last) if last.edit == Edit::Same => last.text.push_str(text),
                    _ => out.push(Segment { edit, text: text.to_string() }),
                }
            }
        }
    }
    flush(&mut out, &mut removed, &mut added);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(segments: &[Segment]) -> String {
        segments
            .iter()
            .map(|s| match s.edit {
                Edit::Same => s.text.clone(),
                Edit::Removed => format!("[-{}-]", s.text),
                Edit::Added => format!("{{+{}+}}", s.text),
            })
            .collect()
    }

    fn side(segments: &[Segment], keep: Edit) -> String {
        segments.iter().filter(|s| s.edit == Edit::Same || s.edit == keep).map(|s| s.text.as_str()).collect()
    }

    fn assert_rebuilds(old: &str, new: &str) -> Vec<Segment> {
        let d = word_diff(old, new);
        assert_eq!(side(&d, Edit::Removed), old, "old side of {old:?} -> {new:?}");
        assert_eq!(side(&d, Edit::Added), new, "new side of {old:?} -> {new:?}");
        d
    }

    #[test]
    fn marks_only_the_words_that_changed() {
        let d = assert_rebuilds("The quick brown fox jumps", "The quick red fox jumps");
        assert_eq!(render(&d), "The quick [-brown-]{+red+} fox jumps");
        let d = assert_rebuilds("Call the client on Monday", "Call the client again on Friday");
        assert_eq!(render(&d), "Call the client {+again +}on [-Monday-]{+Friday+}");
        let d = assert_rebuilds("one two three", "one three");
        assert_eq!(render(&d), "one [-two -]three");
    }

    #[test]
    fn a_space_between_two_changes_joins_them() {
        let d = assert_rebuilds("a b c", "x y c");
        assert_eq!(render(&d), "[-a b-]{+x y+} c");
    }

    #[test]
    fn edges_and_whitespace_round_trip() {
        assert_eq!(
            word_diff("same text", "same text"),
            vec![Segment { edit: Edit::Same, text: "same text".into() }]
        );
        assert_eq!(word_diff("", ""), vec![]);
        assert_eq!(render(&assert_rebuilds("", "new words")), "{+new words+}");
        assert_eq!(render(&assert_rebuilds("old words", "")), "[-old words-]");
        assert_rebuilds("  leading and\ttabs\n\nnew lines  ", "leading and tabs\nnew lines");
        assert_rebuilds("Zoë paid €12 — café", "Zoë paid €15 — café au lait");
        assert_rebuilds("a a a b a a", "a b a a a a b");
    }

    #[test]
    fn one_edit_in_a_very_long_text_stays_exact() {
        let words: Vec<String> = (0..5_000).map(|i| format!("w{i}")).collect();
        let old = words.join(" ");
        let mut changed = words.clone();
        changed[2_500] = "CHANGED".into();
        let new = changed.join(" ");
        let d = assert_rebuilds(&old, &new);
        let edits: Vec<_> = d.iter().filter(|s| s.edit != Edit::Same).map(|s| s.text.as_str()).collect();
        assert_eq!(edits, ["w2500", "CHANGED"]);
    }

    #[test]
    fn a_long_rewrite_falls_back_to_replacing_the_middle() {
        let old: Vec<String> = (0..5_000).map(|i| format!("a{i}")).collect();
        let new: Vec<String> = (0..5_000).map(|i| format!("b{i}")).collect();
        let (old, new) = (old.join(" "), new.join(" "));
        let d = assert_rebuilds(&old, &new);
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].edit, d[1].edit), (Edit::Removed, Edit::Added));

        // Many scattered edits over 5,000 words: beyond the table, still whole.
        let words: Vec<String> = (0..5_000).map(|i| format!("w{i}")).collect();
        let scattered: Vec<String> = words
            .iter()
            .enumerate()
            .map(|(i, w)| if i % 10 == 0 { format!("x{i}") } else { w.clone() })
            .collect();
        let d = assert_rebuilds(&words.join(" "), &scattered.join(" "));
        assert!(d.iter().any(|s| s.edit == Edit::Removed));
    }
}
