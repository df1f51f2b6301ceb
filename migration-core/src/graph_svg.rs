//! The revision graph drawn as SVG: lanes for branches and merges, heads marked, each revision's state.
//!
//! Pure: it takes the [`RevisionGraph`] and, per revision, a [`Status`]
//! (applied / pending / failed / changed, with the applied time and the
//! duration), and returns the SVG document as a string. The `migration history
//! --format svg` command and the app's `GET /migrations` page draw the same
//! picture with [`render`]; [`statuses`] reads the states out of the runner's
//! [`State`].
//!
//! Layout: newest revision on top, one row per revision, in the graph's
//! topological order (the same order `history` lists). Each revision sits in a
//! lane; a merge opens a lane to its right for each extra parent, and lanes
//! that wait for the same parent (a branch point) close into it, as in
//! `git log --graph`. All text is XML-escaped; every revision is a
//! `<g class="revision" data-revision=ID data-state=STATE>` so a page or a
//! test can find it.

use crate::graph::RevisionGraph;
use crate::history::HistoryRow;
use crate::runner::State;
use std::collections::HashMap;
use std::fmt::Write as _;

/// Where one revision stands in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevState {
    /// Applied, with the code's checksum.
    Applied,
    /// Not applied.
    Pending,
    /// Recorded as failed (MySQL/MariaDB, or a migration without a transaction).
    Failed,
    /// Applied, but its code changed since.
    Changed,
    /// No database to ask.
    Unknown,
}

impl RevState {
    /// The lowercase name used in the SVG (`data-state`) and its legend.
    pub fn name(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Pending => "pending",
            Self::Failed => "failed",
            Self::Changed => "changed",
            Self::Unknown => "unknown",
        }
    }

    fn colours(self) -> (&'static str, &'static str) {
        // (fill, stroke)
        match self {
            Self::Applied => ("#2e7d32", "#1b5e20"),
            Self::Pending => ("#ffffff", "#757575"),
            Self::Failed => ("#c62828", "#8e0000"),
            Self::Changed => ("#ef6c00", "#b53d00"),
            Self::Unknown => ("#e0e0e0", "#9e9e9e"),
        }
    }
}

/// A revision's state and its tracking-table details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Applied, pending, failed or changed.
    pub state: RevState,
    /// When it was applied (or failed), UTC RFC 3339.
    pub applied_at: Option<String>,
    /// How long it took.
    pub execution_ms: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
}

impl Status {
    /// A revision with no record.
    pub fn pending() -> Self {
        Self {
            state: RevState::Pending,
            applied_at: None,
            execution_ms: None,
            error: None,
        }
    }
}

/// What else the picture says.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A line above the graph (e.g. the database, masked).
    pub title: Option<String>,
    /// Revisions the database has that the code does not define (listed below the graph).
    pub unknown: Vec<String>,
    /// A note below the graph (e.g. the rollback hold).
    pub note: Option<String>,
}

/// Each revision's [`Status`] from the runner's view of the tracking table.
pub fn statuses(graph: &RevisionGraph, state: &State) -> HashMap<String, Status> {
    statuses_from_rows(graph, &state.rows, &state.changed)
}

/// Each revision's [`Status`] from the tracking table's rows and the applied
/// revisions whose checksum changed.
pub fn statuses_from_rows(
    graph: &RevisionGraph,
    rows: &[HistoryRow],
    changed: &[String],
) -> HashMap<String, Status> {
    let by_id: HashMap<&str, &HistoryRow> = rows.iter().map(|r| (r.revision.as_str(), r)).collect();
    graph
        .topo_order()
        .map(|info| {
            let status = match by_id.get(info.id.as_str()) {
                None => Status::pending(),
                Some(row) => Status {
                    state: if row.is_failed() {
                        RevState::Failed
                    } else if changed.contains(&info.id) {
                        RevState::Changed
                    } else {
                        RevState::Applied
                    },
                    applied_at: Some(row.applied_at.clone()),
                    execution_ms: Some(row.execution_ms),
                    error: row.error.clone(),
                },
            };
            (info.id.clone(), status)
        })
        .collect()
}

/// One revision placed: its row (0 = top, the newest) and lane (0 = left).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The revision id.
    pub id: String,
    /// Row, newest first.
    pub row: usize,
    /// Lane.
    pub lane: usize,
}

/// One parent-to-child edge and the lane it runs down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// The child's id (upper end).
    pub child: String,
    /// The parent's id (lower end).
    pub parent: String,
    /// The lane between the two rows.
    pub lane: usize,
}

/// Where every revision and edge goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// The revisions, top row first.
    pub nodes: Vec<Placed>,
    /// The edges.
    pub edges: Vec<Edge>,
    /// How many lanes the widest row needs.
    pub lanes: usize,
}

/// Places the revisions in rows and lanes (see the module documentation).
pub fn layout(graph: &RevisionGraph) -> Layout {
    let order: Vec<_> = graph.topo_order().collect();
    let mut lanes: Vec<Option<&str>> = Vec::new();
    let mut out = Layout::default();
    for (row, info) in order.iter().rev().enumerate() {
        let id = info.id.as_str();
        let waiting: Vec<usize> = (0..lanes.len()).filter(|&k| lanes[k] == Some(id)).collect();
        let lane = match waiting.first() {
            Some(&k) => k,
            None => free_lane(&mut lanes, 0),
        };
        for &k in waiting.iter().skip(1) {
            lanes[k] = None;
        }
        out.nodes.push(Placed {
            id: id.to_string(),
            row,
            lane,
        });
        let mut parents: Vec<&str> = Vec::new();
        for p in &info.parents {
            if !parents.contains(&p.as_str()) {
                parents.push(p);
            }
        }
        lanes[lane] = parents.first().copied();
        if let Some(first) = parents.first() {
            out.edges.push(Edge {
                child: id.to_string(),
                parent: (*first).to_string(),
                lane,
            });
        }
        for &p in parents.iter().skip(1) {
            // A lane already waiting for this parent carries the edge too.
            let k = match lanes.iter().position(|l| *l == Some(p)) {
                Some(k) if k != lane => k,
                _ => {
                    let k = free_lane(&mut lanes, lane + 1);
                    lanes[k] = Some(p);
                    k
                }
            };
            out.edges.push(Edge {
                child: id.to_string(),
                parent: p.to_string(),
                lane: k,
            });
        }
        out.lanes = out.lanes.max(lanes.len()).max(lane + 1);
        while lanes.last() == Some(&None) {
            lanes.pop();
        }
    }
    out
}

fn free_lane(lanes: &mut Vec<Option<&str>>, from: usize) -> usize {
    match (from..lanes.len()).find(|&k| lanes[k].is_none()) {
        Some(k) => k,
        None => {
            while lanes.len() < from {
                lanes.push(None);
            }
            lanes.push(None);
            lanes.len() - 1
        }
    }
}

/// `&`, `<`, `>`, `"` and `'` escaped for XML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Not allowed in XML 1.0 at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

const ROW: f64 = 46.0;
const LANE: f64 = 26.0;
const LEFT: f64 = 24.0;
const RADIUS: f64 = 8.0;
const CHAR_MONO: f64 = 7.3;
const CHAR_SANS: f64 = 6.6;

/// The SVG document: the graph with each revision's state. A revision missing
/// from `statuses` is drawn as [`RevState::Unknown`].
pub fn render(
    graph: &RevisionGraph,
    statuses: &HashMap<String, Status>,
    options: &Options,
) -> String {
    let layout = layout(graph);
    let heads: Vec<&str> = graph.heads();
    let unknown = Status {
        state: RevState::Unknown,
        applied_at: None,
        execution_ms: None,
        error: None,
    };
    let mut top = 46.0;
    if options.title.is_some() {
        top += 22.0;
    }
    let x_of = |lane: usize| LEFT + LANE * lane as f64;
    let y_of = |row: usize| top + ROW * row as f64 + ROW / 2.0;
    let text_x = x_of(layout.lanes.max(1)) + 8.0;
    let position: HashMap<&str, &Placed> =
        layout.nodes.iter().map(|p| (p.id.as_str(), p)).collect();

    let mut text_width: f64 = 520.0;
    let mut details: Vec<(String, String, Vec<&'static str>)> = Vec::new();
    for placed in &layout.nodes {
        let info = graph
            .get(&placed.id)
            .expect("placed revisions are in the graph");
        let status = statuses.get(&placed.id).unwrap_or(&unknown);
        let mut marks = Vec::new();
        if heads.contains(&placed.id.as_str()) {
            marks.push("head");
        }
        if info.is_merge() {
            marks.push("merge");
        }
        if graph.children(&placed.id).len() > 1 {
            marks.push("branch point");
        }
        if info.is_base() {
            marks.push("base");
        }
        let mut line = status.state.name().to_string();
        if let Some(at) = &status.applied_at {
            let verb = if status.state == RevState::Failed {
                "failed"
            } else {
                "applied"
            };
            let _ = write!(line, " · {verb} {}", at.replace('T', " "));
        }
        if let Some(ms) = status.execution_ms {
            let _ = write!(line, " · {ms} ms");
        }
        let summary = info.message.lines().next().unwrap_or("");
        if !summary.is_empty() {
            let _ = write!(line, " · {summary}");
        }
        let badges: usize = marks.iter().map(|m| m.len() + 3).sum();
        text_width = text_width
            .max((placed.id.len() + badges + 2) as f64 * CHAR_MONO)
            .max(line.chars().count() as f64 * CHAR_SANS);
        details.push((placed.id.clone(), line, marks));
    }
    let mut extra_lines = Vec::new();
    if !options.unknown.is_empty() {
        extra_lines.push(format!(
            "The database is ahead of this code: {} applied revision(s) no migration defines: {}",
            options.unknown.len(),
            options.unknown.join(", ")
        ));
    }
    if let Some(note) = &options.note {
        extra_lines.push(note.clone());
    }
    for l in &extra_lines {
        text_width = text_width.max(l.chars().count() as f64 * CHAR_SANS - text_x + LEFT);
    }
    let width = (text_x + text_width + 24.0).ceil();
    let graph_bottom = top + ROW * layout.nodes.len().max(1) as f64;
    let height = (graph_bottom + 12.0 + 20.0 * extra_lines.len() as f64 + 8.0).ceil();

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="revision-graph" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-labelledby="revision-graph-title" font-family="system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif" font-size="12">"##
    );
    let _ = writeln!(
        svg,
        r#"<title id="revision-graph-title">Revision graph: {} revision(s), {} head(s)</title>"#,
        layout.nodes.len(),
        heads.len()
    );
    let _ = writeln!(
        svg,
        r##"<rect x="0" y="0" width="{width}" height="{height}" fill="#fafafa"/>"##
    );
    let mut y = 22.0;
    if let Some(title) = &options.title {
        let _ = writeln!(
            svg,
            r##"<text x="{LEFT}" y="{y}" font-size="14" font-weight="600" fill="#212121">{}</text>"##,
            escape(title)
        );
        y += 22.0;
    }
    // Legend.
    let mut lx = LEFT;
    let _ = writeln!(svg, r#"<g class="legend">"#);
    for state in [
        RevState::Applied,
        RevState::Pending,
        RevState::Failed,
        RevState::Changed,
    ] {
        let (fill, stroke) = state.colours();
        let _ = writeln!(
            svg,
            r##"<circle cx="{lx}" cy="{cy}" r="6" fill="{fill}" stroke="{stroke}" stroke-width="2"/><text x="{tx}" y="{ty}" fill="#424242">{name}</text>"##,
            cy = y - 4.0,
            tx = lx + 10.0,
            ty = y,
            name = state.name()
        );
        lx += 86.0;
    }
    let _ = writeln!(
        svg,
        r##"<text x="{lx}" y="{y}" fill="#616161">◆ merge · ring = head · newest on top</text>"##
    );
    let _ = writeln!(svg, "</g>");

    // Edges under the nodes.
    let _ = writeln!(
        svg,
        r##"<g class="edges" fill="none" stroke="#90a4ae" stroke-width="2">"##
    );
    for edge in &layout.edges {
        let (Some(c), Some(p)) = (
            position.get(edge.child.as_str()),
            position.get(edge.parent.as_str()),
        ) else {
            continue;
        };
        let (xc, yc) = (x_of(c.lane), y_of(c.row));
        let (xp, yp) = (x_of(p.lane), y_of(p.row));
        let xl = x_of(edge.lane);
        let half = ROW / 2.0;
        let mut d = format!("M{xc},{yc}");
        if (xl - xc).abs() > f64::EPSILON {
            let _ = write!(
                d,
                " C{xc},{a} {xl},{b} {xl},{e}",
                a = yc + half * 0.6,
                b = yc + half * 0.4,
                e = yc + half
            );
        } else {
            let _ = write!(d, " L{xl},{e}", e = yc + half);
        }
        let _ = write!(d, " L{xl},{e}", e = yp - half);
        if (xl - xp).abs() > f64::EPSILON {
            let _ = write!(
                d,
                " C{xl},{a} {xp},{b} {xp},{yp}",
                a = yp - half * 0.6,
                b = yp - half * 0.4
            );
        } else {
            let _ = write!(d, " L{xp},{yp}");
        }
        let _ = writeln!(
            svg,
            r#"<path class="edge" data-child="{}" data-parent="{}" d="{d}"/>"#,
            escape(&edge.child),
            escape(&edge.parent)
        );
    }
    let _ = writeln!(svg, "</g>");

    // Nodes and their text.
    let _ = writeln!(svg, r#"<g class="revisions">"#);
    for (placed, (id, line, marks)) in layout.nodes.iter().zip(&details) {
        let status = statuses.get(id).unwrap_or(&unknown);
        let (fill, stroke) = status.state.colours();
        let (x, y) = (x_of(placed.lane), y_of(placed.row));
        let is_head = marks.contains(&"head");
        let is_merge = marks.contains(&"merge");
        let mut tooltip = format!("{id}\n{line}");
        if let Some(error) = &status.error {
            let _ = write!(tooltip, "\nerror: {error}");
        }
        let _ = writeln!(
            svg,
            r#"<g class="revision state-{state}" id="rev-{eid}" data-revision="{eid}" data-state="{state}" data-head="{is_head}" data-merge="{is_merge}" data-lane="{lane}">"#,
            state = status.state.name(),
            eid = escape(id),
            lane = placed.lane
        );
        let _ = writeln!(svg, "<title>{}</title>", escape(&tooltip));
        if is_head {
            let _ = writeln!(
                svg,
                r##"<circle cx="{x}" cy="{y}" r="{r}" fill="none" stroke="#1565c0" stroke-width="2"/>"##,
                r = RADIUS + 4.0
            );
        }
        let dash = if status.state == RevState::Pending {
            r#" stroke-dasharray="3 2""#
        } else {
            ""
        };
        if is_merge {
            let r = RADIUS + 1.5;
            let _ = writeln!(
                svg,
                r#"<path class="node" d="M{x},{a} L{b},{y} L{x},{c} L{d},{y} Z" fill="{fill}" stroke="{stroke}" stroke-width="2"{dash}/>"#,
                a = y - r,
                b = x + r,
                c = y + r,
                d = x - r
            );
        } else {
            let _ = writeln!(
                svg,
                r#"<circle class="node" cx="{x}" cy="{y}" r="{RADIUS}" fill="{fill}" stroke="{stroke}" stroke-width="2"{dash}/>"#
            );
        }
        let _ = write!(
            svg,
            r##"<text x="{text_x}" y="{ty}" font-family="ui-monospace, 'DejaVu Sans Mono', monospace" font-weight="600" fill="#212121">{eid}"##,
            ty = y - 3.0,
            eid = escape(id)
        );
        for mark in marks {
            let colour = match *mark {
                "head" => "#1565c0",
                "merge" => "#6a1b9a",
                _ => "#616161",
            };
            let _ = write!(
                svg,
                r#"<tspan class="mark" fill="{colour}" font-weight="400"> [{mark}]</tspan>"#
            );
        }
        let _ = writeln!(svg, "</text>");
        let _ = writeln!(
            svg,
            r##"<text class="detail" x="{text_x}" y="{ty}" fill="{colour}">{}</text>"##,
            escape(line),
            ty = y + 13.0,
            colour = match status.state {
                RevState::Failed => "#b71c1c",
                RevState::Changed => "#bf360c",
                _ => "#616161",
            }
        );
        let _ = writeln!(svg, "</g>");
    }
    let _ = writeln!(svg, "</g>");
    let mut y = graph_bottom + 12.0;
    for line in &extra_lines {
        let _ = writeln!(
            svg,
            r##"<text class="note" x="{LEFT}" y="{y}" fill="#b71c1c">{}</text>"##,
            escape(line)
        );
        y += 20.0;
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::RevisionInfo;

    fn graph(revs: &[(&str, &[&str])]) -> RevisionGraph {
        RevisionGraph::new(
            revs.iter()
                .map(|(id, parents)| RevisionInfo::new(*id, parents, format!("message of {id}")))
                .collect(),
        )
        .unwrap()
    }

    /// base - a - (b1, b2) - merge - top: the project's shape.
    fn branched() -> RevisionGraph {
        graph(&[
            ("r1", &[]),
            ("r2", &["r1"]),
            ("r3a", &["r2"]),
            ("r3b", &["r2"]),
            ("r4", &["r3a", "r3b"]),
            ("r5", &["r4"]),
        ])
    }

    fn lane_of(layout: &Layout, id: &str) -> usize {
        layout.nodes.iter().find(|p| p.id == id).unwrap().lane
    }

    #[test]
    fn a_straight_history_is_one_lane_newest_first() {
        let g = graph(&[("a", &[]), ("b", &["a"]), ("c", &["b"])]);
        let l = layout(&g);
        assert_eq!(l.lanes, 1);
        let ids: Vec<&str> = l.nodes.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["c", "b", "a"]);
        assert!(l.nodes.iter().all(|p| p.lane == 0));
        assert_eq!(l.edges.len(), 2);
    }

    #[test]
    fn a_merge_opens_a_lane_and_the_branch_point_closes_it() {
        let g = branched();
        let l = layout(&g);
        assert_eq!(l.lanes, 2);
        assert_eq!(lane_of(&l, "r4"), 0);
        // The two branches sit side by side, both rejoin r2 in lane 0.
        assert_ne!(lane_of(&l, "r3a"), lane_of(&l, "r3b"));
        assert_eq!(lane_of(&l, "r2"), 0);
        assert_eq!(lane_of(&l, "r1"), 0);
        // One edge per parent link.
        assert_eq!(l.edges.len(), 6);
        let merge_edges: Vec<_> = l.edges.iter().filter(|e| e.child == "r4").collect();
        assert_eq!(merge_edges.len(), 2);
        assert_ne!(merge_edges[0].lane, merge_edges[1].lane);
    }

    #[test]
    fn two_heads_take_two_lanes() {
        let g = graph(&[("a", &[]), ("b", &["a"]), ("c", &["a"])]);
        let l = layout(&g);
        assert_eq!(l.lanes, 2);
        assert_ne!(lane_of(&l, "b"), lane_of(&l, "c"));
    }

    fn all_states() -> HashMap<String, Status> {
        let mut s = HashMap::new();
        let applied = |ms| Status {
            state: RevState::Applied,
            applied_at: Some("2025-06-01T10:00:00.000Z".into()),
            execution_ms: Some(ms),
            error: None,
        };
        s.insert("r1".into(), applied(12));
        s.insert("r2".into(), applied(7));
        s.insert(
            "r3a".into(),
            Status {
                state: RevState::Changed,
                ..applied(3)
            },
        );
        s.insert(
            "r3b".into(),
            Status {
                state: RevState::Failed,
                error: Some("duplicate column <x> & \"y\"".into()),
                ..applied(1)
            },
        );
        s.insert("r4".into(), Status::pending());
        s
    }

    #[test]
    fn every_revision_is_a_group_with_its_state() {
        let svg = render(&branched(), &all_states(), &Options::default());
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("class=\"revision state-").count(), 6);
        for (id, state) in [
            ("r1", "applied"),
            ("r2", "applied"),
            ("r3a", "changed"),
            ("r3b", "failed"),
            ("r4", "pending"),
            ("r5", "unknown"),
        ] {
            assert!(
                svg.contains(&format!(r#"data-revision="{id}" data-state="{state}""#)),
                "{id} {state}\n{svg}"
            );
        }
        assert!(svg.contains(r#"data-revision="r5" data-state="unknown" data-head="true""#));
        assert!(svg.contains(
            r#"data-revision="r4" data-state="pending" data-head="false" data-merge="true""#
        ));
        assert!(svg.contains("[branch point]"));
        assert!(svg.contains("applied 2025-06-01 10:00:00.000Z · 12 ms"));
        assert_eq!(svg.matches("class=\"edge\"").count(), 6);
    }

    #[test]
    fn text_is_escaped() {
        let g = RevisionGraph::new(vec![RevisionInfo::new(
            "m1",
            &[],
            "add <script>alert('x')</script> & more",
        )])
        .unwrap();
        let options = Options {
            title: Some("db \"<prod>\"".into()),
            unknown: vec!["m0<ahead>".into()],
            note: Some("hold & co".into()),
        };
        let svg = render(&g, &HashMap::new(), &options);
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("add &lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; &amp; more"));
        assert!(svg.contains("db &quot;&lt;prod&gt;&quot;"));
        assert!(svg.contains("m0&lt;ahead&gt;"));
        assert!(svg.contains("hold &amp; co"));
        let failed = render(&branched(), &all_states(), &Options::default());
        assert!(failed.contains("error: duplicate column &lt;x&gt; &amp; &quot;y&quot;"));
        assert_eq!(escape("a\u{1}b"), "a\u{fffd}b");
    }

    #[test]
    fn an_empty_graph_is_still_a_document() {
        let g = RevisionGraph::new(Vec::new()).unwrap();
        let svg = render(&g, &HashMap::new(), &Options::default());
        assert!(svg.contains("0 revision(s)"));
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn statuses_come_from_the_tracking_table() {
        let g = graph(&[("a", &[]), ("b", &["a"]), ("c", &["b"]), ("d", &["c"])]);
        let mut failed = HistoryRow::applied("c", 4, "x");
        failed.status = crate::history::STATUS_FAILED.into();
        failed.error = Some("boom".into());
        let rows = vec![
            HistoryRow::applied("a", 10, "x"),
            HistoryRow::applied("b", 20, "x"),
            failed,
        ];
        let s = statuses_from_rows(&g, &rows, &["b".to_string()]);
        assert_eq!(s["a"].state, RevState::Applied);
        assert_eq!(s["a"].execution_ms, Some(10));
        assert_eq!(s["b"].state, RevState::Changed);
        assert_eq!(s["c"].state, RevState::Failed);
        assert_eq!(s["c"].error.as_deref(), Some("boom"));
        assert_eq!(s["d"], Status::pending());
    }
}
