//! The longest common subsequence of two sequences, as an alignment: what
//! the word diff of long text and the item diff of arrays are both built on.

/// Aligns `a` with `b` along a longest common subsequence: `(Some(i),
/// Some(j))` keeps `a[i]` (equal to `b[j]`), `(Some(i), None)` removes
/// `a[i]`, `(None, Some(j))` adds `b[j]`. In order; removals come before
/// additions within a changed stretch. Quadratic in time and memory: callers
/// bound `(a.len() + 1) * (b.len() + 1)`.
pub fn align<T: PartialEq>(a: &[T], b: &[T]) -> Vec<(Option<usize>, Option<usize>)> {
    let (n, m) = (a.len(), b.len());
    let width = m + 1;
    // len[i * width + j]: the LCS length of a[i..] and b[j..].
    let mut len = vec![0u32; (n + 1) * width];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            len[i * width + j] = if a[i] == b[j] {
                len[(i + 1) * width + j + 1] + 1
            } else {
                len[(i + 1) * width + j].max(len[i * width + j + 1])
            };
        }
    }
    let mut ops = Vec::with_capacity(n.max(m));
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((Some(i), Some(j)));
            i += 1;
            j += 1;
        } else if j == m || (i < n && len[(i + 1) * width + j] >= len[i * width + j + 1]) {
            ops.push((Some(i), None));
            i += 1;
        } else {
            ops.push((None, Some(j)));
            j += 1;
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_common_part_and_edits_the_rest() {
        let ops = align(&['a', 'b', 'c', 'd'], &['a', 'x', 'c', 'd', 'e']);
        assert_eq!(
            ops,
            [
                (Some(0), Some(0)),
                (Some(1), None),
                (None, Some(1)),
                (Some(2), Some(2)),
                (Some(3), Some(3)),
                (None, Some(4))
            ]
        );
        assert_eq!(align::<u8>(&[], &[1, 2]), [(None, Some(0)), (None, Some(1))]);
        assert_eq!(align(&[1, 2], &[]), [(Some(0), None), (Some(1), None)]);
    }
}
