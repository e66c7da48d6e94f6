//! The challenger: a shallow decision tree (linfa-trees, Gini splits) on the same WoE values as
//! the scorecard. linfa's tree predicts classes only, so the fitted splits are copied into a
//! small serialisable tree whose leaves carry their training bad rate as the probability.
//! The tree is grown with balanced class weights (see [`TreeChallenger::fit`]); `min_weight_leaf`
//! is then in weighted rows, i.e. roughly `tree_min_leaf_share` of the rows when bads are rare.

use linfa::prelude::*;
use linfa_trees::{DecisionTree, TreeNode};
use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainingError};
use crate::settings::Settings;

/// One node: a split `x[feature] <= threshold → left` or, with `feature = None`, a leaf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub feature: Option<usize>,
    pub threshold: f64,
    pub left: usize,
    pub right: usize,
    /// Leaf bad rate on the training rows (smoothed by ½ a bad in 1 row), for leaves.
    pub pd: f64,
    pub rows: u64,
}

/// A fitted challenger tree over named WoE features; node 0 is the root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeChallenger {
    pub features: Vec<String>,
    pub nodes: Vec<Node>,
}

impl TreeChallenger {
    /// Grows the tree on at most `tree_max_rows` evenly spaced rows, then sets leaf bad rates from
    /// all rows.
    pub fn fit(
        x: ArrayView2<f64>,
        bad: &[bool],
        features: Vec<String>,
        s: &Settings,
    ) -> Result<Self> {
        let n = x.nrows();
        let step = n.div_ceil(s.tree_max_rows).max(1);
        let rows: Vec<usize> = (0..n).step_by(step).collect();
        let sub: Array2<f64> = x.select(ndarray::Axis(0), &rows);
        let y: Array1<usize> = rows.iter().map(|&r| bad[r] as usize).collect();
        // linfa prunes sibling leaves that predict the same class, which on imbalanced credit
        // data collapses the tree to its root (every leaf "good"). Weighting the classes to
        // equal total weight keeps the splits that matter; probabilities still come from the
        // unweighted leaf bad rates below.
        let n_bad = y.iter().filter(|&&v| v == 1).count().max(1) as f32;
        let n_good = (y.len() as f32 - n_bad).max(1.0);
        let weights: Array1<f32> = y
            .iter()
            .map(|&v| if v == 1 { n_good / n_bad } else { 1.0 })
            .collect();
        let min_leaf = (s.tree_min_leaf_share * rows.len() as f64).max(1.0) as f32;
        let tree = DecisionTree::params()
            .max_depth(Some(s.tree_max_depth))
            .min_weight_leaf(min_leaf)
            .min_weight_split(2.0 * min_leaf)
            .fit(&DatasetBase::new(sub, y).with_weights(weights))
            .map_err(|e| TrainingError::Tree {
                message: e.to_string(),
            })?;
        let mut nodes = Vec::new();
        copy(&mut nodes, tree.root_node());
        let mut t = TreeChallenger { features, nodes };
        let mut counts = vec![(0u64, 0u64); t.nodes.len()];
        for r in 0..n {
            let leaf = t.leaf(|j| x[(r, j)]);
            counts[leaf].0 += 1;
            counts[leaf].1 += bad[r] as u64;
        }
        for (node, (rows, bads)) in t.nodes.iter_mut().zip(counts) {
            if node.feature.is_none() {
                node.rows = rows;
                node.pd = (bads as f64 + 0.5) / (rows as f64 + 1.0);
            }
        }
        Ok(t)
    }

    /// Index of the leaf a row reaches; `x(j)` gives feature `j`.
    pub fn leaf(&self, x: impl Fn(usize) -> f64) -> usize {
        let mut i = 0;
        while let Some(f) = self.nodes[i].feature {
            i = if x(f) <= self.nodes[i].threshold {
                self.nodes[i].left
            } else {
                self.nodes[i].right
            };
        }
        i
    }

    /// Probability of bad for each row of `x`.
    pub fn predict(&self, x: ArrayView2<f64>) -> Vec<f64> {
        (0..x.nrows())
            .map(|r| self.nodes[self.leaf(|j| x[(r, j)])].pd)
            .collect()
    }

    /// Checks that every index points inside the tree and children come after parents (no cycles).
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.nodes.is_empty() {
            return Err("challenger tree has no nodes".into());
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if let Some(f) = n.feature {
                if f >= self.features.len()
                    || n.left <= i
                    || n.right <= i
                    || n.left >= self.nodes.len()
                    || n.right >= self.nodes.len()
                {
                    return Err(format!("challenger node {i} is malformed"));
                }
            }
        }
        Ok(())
    }
}

fn copy(nodes: &mut Vec<Node>, src: &TreeNode<f64, usize>) -> usize {
    let me = nodes.len();
    nodes.push(Node {
        feature: None,
        threshold: 0.0,
        left: 0,
        right: 0,
        pd: 0.0,
        rows: 0,
    });
    let children = src.children();
    if let (false, Some(l), Some(r)) = (
        src.is_leaf(),
        children[0].as_deref(),
        children[1].as_deref(),
    ) {
        let (feature, threshold, _) = src.split();
        let left = copy(nodes, l);
        let right = copy(nodes, r);
        nodes[me] = Node {
            feature: Some(feature),
            threshold,
            left,
            right,
            pd: 0.0,
            rows: 0,
        };
    }
    me
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_carry_their_bad_rates() {
        // Feature 0 separates a 50%-bad half from a 2%-bad half.
        let n = 2000;
        let x = Array2::from_shape_fn((n, 1), |(r, _)| if r < n / 2 { -1.0 } else { 1.0 });
        let bad: Vec<bool> = (0..n)
            .map(|r| if r < n / 2 { r % 2 == 0 } else { r % 50 == 0 })
            .collect();
        let t =
            TreeChallenger::fit(x.view(), &bad, vec!["f".into()], &Settings::default()).unwrap();
        t.validate().unwrap();
        let p = t.predict(x.view());
        assert!((p[0] - 0.5).abs() < 0.01, "{}", p[0]);
        assert!((p[n - 1] - 0.02).abs() < 0.01, "{}", p[n - 1]);
    }
}
