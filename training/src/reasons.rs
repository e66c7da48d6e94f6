//! Reason codes: characteristics ranked by the points the applicant lost against that
//! characteristic's best bin (domain notes §7). At most [`MAX_REASONS`], only those with a loss,
//! ties broken by the card's order so the same applicant always gets the same reasons.

use serde::{Deserialize, Serialize};

/// Most reasons given with a score.
pub const MAX_REASONS: usize = 4;

/// One reason served with a score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub code: String,
    pub characteristic: String,
    pub points_lost: i32,
    pub text_en: String,
    pub text_zh: String,
}

/// The top (characteristic index, points lost) pairs, largest loss first.
#[inline]
pub fn top_losses(
    lost: impl Iterator<Item = (usize, i32)>,
) -> ([(usize, i32); MAX_REASONS], usize) {
    let mut top = [(usize::MAX, 0i32); MAX_REASONS];
    let mut len = 0;
    for (c, l) in lost {
        if l <= 0 {
            continue;
        }
        // insertion into a sorted array of at most 4; strict `>` keeps earlier ties ahead
        let mut pos = len;
        while pos > 0 && l > top[pos - 1].1 {
            pos -= 1;
        }
        if pos < MAX_REASONS {
            let end = len.min(MAX_REASONS - 1);
            for k in (pos..end).rev() {
                top[k + 1] = top[k];
            }
            top[pos] = (c, l);
            len = (len + 1).min(MAX_REASONS);
        }
    }
    (top, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_four_largest_losses_in_order_with_stable_ties() {
        let (top, len) = top_losses(
            [
                (0, 5),
                (1, 0),
                (2, 12),
                (3, 5),
                (4, 30),
                (5, 1),
                (6, -3),
                (7, 12),
            ]
            .into_iter(),
        );
        assert_eq!(len, 4);
        assert_eq!(&top[..len], &[(4, 30), (2, 12), (7, 12), (0, 5)]);
        let (_, none) = top_losses([(0, 0), (1, -2)].into_iter());
        assert_eq!(none, 0);
    }
}
