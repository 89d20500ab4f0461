//! The parse budget of an SVG document: everything checked before usvg builds its tree.
//!
//! Owns: the input size cap (gzip included), the entity-expansion estimate, the XML node and
//! nesting limits, and the reference-amplification estimate. Must not touch: rendering or
//! pixel sizes (see `cost`).
//!
//! Why each check exists (limits usvg and roxmltree already have are not repeated):
//! - roxmltree stops entity loops (depth 10) and allows 255 references inside one top-level
//!   reference, but the number of top-level references and the length of an entity's value are
//!   unbounded, so 4 KiB of `&big;` can still expand to gigabytes: [`entity_expansion`] adds up
//!   what every reference expands to before roxmltree runs.
//! - roxmltree's node limit is off by default; usvg's (1,000,000 nodes, nesting 1024) applies
//!   after the whole XML tree exists and 1024 levels overflow a 2 MiB worker stack in usvg's
//!   and resvg's recursion: [`parse`] sets a node limit and a much lower nesting limit.
//! - usvg copies content per reference (`<use>`, `feImage`, and clip paths, masks, filters and
//!   patterns in object-bounding-box units are converted once per element using them; markers
//!   once per vertex): [`expanded`] bounds the copies before usvg makes them.
//! - usvg decodes an `<image>`'s `data:` URI again for every copy of the element and keeps
//!   each decoded copy in the tree: a 1 MB image used 300 times held 300 MB. [`expanded`]
//!   counts the URI bytes of every copy too, within [`MAX_EMBEDDED_BYTES`].

use std::collections::HashMap;
use std::io::Read;

use roxmltree::{Document, Node, NodeId, ParsingOptions};

use crate::decode::DecodeError;

/// Largest SVG accepted, in bytes of text (after gunzip for `.svgz`).
pub(super) const MAX_TEXT_BYTES: usize = 8 << 20;
/// Largest number of bytes entity references may expand to, in total.
const MAX_ENTITY_BYTES: u64 = 1 << 20;
/// Largest number of XML nodes (elements, text, comments). About 1 KiB of peak memory each
/// once usvg has converted them (measured: 60,000 rectangles peak at 70 MB).
const MAX_XML_NODES: u32 = 75_000;
/// Deepest element nesting accepted.
const MAX_DEPTH: usize = 128;
/// Most elements usvg may make once references are copied (`<use>`, markers, ...).
const MAX_EXPANDED_NODES: u64 = 100_000;
/// Most bytes of `data:` URIs in `<image>` elements once references are copied (twice the
/// largest text: a document that is one large embedded photo, used twice).
const MAX_EMBEDDED_BYTES: u64 = 2 * MAX_TEXT_BYTES as u64;
/// Longest chain of references followed while estimating copies.
const MAX_REFERENCE_CHAIN: u32 = 32;

fn too_costly(what: &str) -> DecodeError {
    DecodeError::Corrupt(format!("SVG over the parse budget: {what}"))
}

/// The document's text: gunzipped if compressed (bounded), UTF-8 checked, size checked.
pub(super) fn text(bytes: &[u8]) -> Result<std::borrow::Cow<'_, str>, DecodeError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .take(MAX_TEXT_BYTES as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|_| DecodeError::Corrupt("SVGZ: malformed gzip data".into()))?;
        if out.len() > MAX_TEXT_BYTES {
            return Err(too_costly("more than 8 MiB of text once decompressed"));
        }
        let text = String::from_utf8(out)
            .map_err(|_| DecodeError::Unsupported("SVGZ: text is not UTF-8".into()))?;
        return Ok(text.into());
    }
    if bytes.len() > MAX_TEXT_BYTES {
        return Err(too_costly("more than 8 MiB of text"));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| DecodeError::Unsupported("SVG: text is not UTF-8".into()))?;
    Ok(text.into())
}

/// Parses `text` into an XML tree within the node, nesting, entity and reference budgets.
pub(super) fn parse(text: &str) -> Result<Document<'_>, DecodeError> {
    let expansion = entity_expansion(text)?;
    if expansion > MAX_ENTITY_BYTES {
        return Err(too_costly("entity references expand to more than 1 MiB"));
    }
    let options = ParsingOptions {
        allow_dtd: true,
        nodes_limit: MAX_XML_NODES,
        // External entities are never loaded (the default).
        ..Default::default()
    };
    let doc = Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::NodesLimitReached => too_costly("more than 75000 XML nodes"),
        roxmltree::Error::EntityReferenceLoop(_) => too_costly("an entity reference loop"),
        // roxmltree's messages give a position, never the input's bytes.
        e => DecodeError::Corrupt(format!("SVG: malformed XML: {e}")),
    })?;
    check_depth(&doc)?;
    let copies = expanded(&doc)?;
    if copies.elements > MAX_EXPANDED_NODES {
        return Err(too_costly(
            "more than 100000 elements once references are copied",
        ));
    }
    if copies.data_bytes > MAX_EMBEDDED_BYTES {
        return Err(too_costly(
            "more than 16 MiB of embedded images once references are copied",
        ));
    }
    Ok(doc)
}

/// Total bytes that the entity references in `text` expand to (0 when it declares none).
///
/// Counts every `&name;` of a declared entity anywhere in the text (a slight overestimate:
/// references inside the DTD count too). Parameter entities and character references inside
/// entity values (which can assemble new references) are refused outright.
pub(super) fn entity_expansion(text: &str) -> Result<u64, DecodeError> {
    const DECL: &str = "<!ENTITY";
    if !text.contains(DECL) {
        return Ok(0);
    }
    let mut values: HashMap<&str, &str> = HashMap::new();
    for (at, _) in text.match_indices(DECL) {
        let rest = text[at + DECL.len()..].trim_start();
        if rest.starts_with('%') {
            return Err(DecodeError::Unsupported(
                "SVG: parameter entities are not supported".into(),
            ));
        }
        let name_end = rest
            .find(|c: char| c.is_whitespace() || c == '>')
            .unwrap_or(rest.len());
        let (name, rest) = rest.split_at(name_end);
        let rest = rest.trim_start();
        let value = match rest.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let body = &rest[1..];
                match body.find(quote) {
                    Some(end) => &body[..end],
                    None => return Err(DecodeError::Corrupt("SVG: unterminated entity".into())),
                }
            }
            // External (SYSTEM/PUBLIC) entities are never loaded: they expand to nothing.
            _ => "",
        };
        if value.contains("&#") {
            return Err(DecodeError::Unsupported(
                "SVG: character references inside entity values are not supported".into(),
            ));
        }
        let slot = values.entry(name).or_insert(value);
        if value.len() > slot.len() {
            *slot = value;
        }
    }
    let mut memo: HashMap<&str, u64> = HashMap::new();
    let mut total: u64 = 0;
    for name in references(text) {
        if values.contains_key(name) {
            total = total.saturating_add(expanded_len(name, &values, &mut memo, 0)?);
            if total > MAX_ENTITY_BYTES {
                break;
            }
        }
    }
    Ok(total)
}

/// The names of the `&name;` references in `text`.
fn references(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices('&').filter_map(move |(at, _)| {
        let rest = &text[at + 1..];
        let end = rest.get(..rest.len().min(256))?.find(';')?;
        Some(&rest[..end])
    })
}

fn expanded_len<'a>(
    name: &'a str,
    values: &HashMap<&'a str, &'a str>,
    memo: &mut HashMap<&'a str, u64>,
    depth: u32,
) -> Result<u64, DecodeError> {
    if let Some(&n) = memo.get(name) {
        return Ok(n);
    }
    if depth > 10 {
        return Err(too_costly("entities nested more than 10 deep"));
    }
    let value = values.get(name).copied().unwrap_or("");
    let mut n = value.len() as u64;
    for inner in references(value) {
        if values.contains_key(inner) {
            n = n.saturating_add(expanded_len(inner, values, memo, depth + 1)?);
        }
    }
    memo.insert(name, n);
    Ok(n)
}

/// Refuses element nesting deeper than [`MAX_DEPTH`] (one pass, no recursion).
fn check_depth(doc: &Document) -> Result<(), DecodeError> {
    let mut stack = vec![(doc.root_element(), 1)];
    while let Some((node, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(too_costly("elements nested more than 128 deep"));
        }
        stack.extend(
            node.children()
                .filter(Node::is_element)
                .map(|c| (c, depth + 1)),
        );
    }
    Ok(())
}

/// What a document becomes once usvg has copied its references: elements, and bytes of
/// `data:` URIs on `<image>` elements (each copy decodes its own).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Copies {
    pub(super) elements: u64,
    pub(super) data_bytes: u64,
}

impl Copies {
    fn add(&mut self, other: Copies, times: u64) {
        self.elements = self
            .elements
            .saturating_add(other.elements.saturating_mul(times));
        self.data_bytes = self
            .data_bytes
            .saturating_add(other.data_bytes.saturating_mul(times));
    }

    fn over(&self) -> bool {
        self.elements > MAX_EXPANDED_NODES || self.data_bytes > MAX_EMBEDDED_BYTES
    }
}

/// An upper estimate of what usvg makes once references are copied.
///
/// Each element counts 1 plus its children, plus for each reference it holds the size of the
/// referenced element: `href="#id"` on `<use>` and `<feImage>`, and every `url(#id)` in an
/// attribute (`style` included), once per shape below it for inherited properties, and once per
/// vertex for markers. CSS in `<style>` elements may apply to every element: each element
/// counts the 8 largest targets the style sheets reference. A gradient counts 1. An `<image>`
/// also counts the bytes of its `data:` URI.
pub(super) fn expanded(doc: &Document) -> Result<Copies, DecodeError> {
    let ids: HashMap<&str, NodeId> = doc
        .descendants()
        .filter_map(|n| n.attribute("id").map(|id| (id, n.id())))
        .collect();
    let mut estimator = Estimator {
        doc,
        ids,
        memo: HashMap::new(),
    };
    let root = doc.root_element();
    let mut total = estimator.size(root, 0)?;
    let css_refs: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name(("http://www.w3.org/2000/svg", "style")))
        .filter_map(|n| n.text())
        .flat_map(url_refs)
        .collect();
    if !css_refs.is_empty() {
        // An element takes at most one value per property, and at most 8 properties take a
        // url (fill, stroke, clip-path, mask, filter, marker-start/mid/end): each element
        // costs at most the 8 largest targets.
        let sizes = css_refs
            .into_iter()
            .map(|id| estimator.target_size(id, 0))
            .collect::<Result<Vec<Copies>, DecodeError>>()?;
        let top8 = |mut v: Vec<u64>| {
            v.sort_unstable_by_key(|&n| std::cmp::Reverse(n));
            v.iter().take(8).fold(0u64, |a, &b| a.saturating_add(b))
        };
        let largest = Copies {
            elements: top8(sizes.iter().map(|c| c.elements).collect()),
            data_bytes: top8(sizes.iter().map(|c| c.data_bytes).collect()),
        };
        let elements = doc.descendants().filter(Node::is_element).count() as u64;
        total.add(largest, elements);
    }
    Ok(total)
}

/// Memoised sizes of referenced elements.
struct Estimator<'a, 'input> {
    doc: &'a Document<'input>,
    ids: HashMap<&'a str, NodeId>,
    /// `None` while being computed (a reference cycle counts 0: usvg drops those).
    memo: HashMap<NodeId, Option<Copies>>,
}

impl<'a> Estimator<'a, '_> {
    fn target_size(&mut self, id: &str, chain: u32) -> Result<Copies, DecodeError> {
        let Some(&target) = self.ids.get(id) else {
            return Ok(Copies::default());
        };
        match self.memo.get(&target) {
            Some(Some(n)) => return Ok(*n),
            Some(None) => return Ok(Copies::default()),
            None => {}
        }
        if chain >= MAX_REFERENCE_CHAIN {
            return Err(too_costly("references chained more than 32 deep"));
        }
        let Some(node) = self.doc.get_node(target) else {
            return Ok(Copies::default());
        };
        // A gradient becomes one paint, not nodes (its stops are not elements of the tree).
        if matches!(node.tag_name().name(), "linearGradient" | "radialGradient") {
            return Ok(Copies {
                elements: 1,
                data_bytes: 0,
            });
        }
        self.memo.insert(target, None);
        let n = self.size(node, chain + 1)?;
        self.memo.insert(target, Some(n));
        Ok(n)
    }

    /// What `node`'s subtree becomes, with references copied (iterative over the subtree).
    fn size(&mut self, node: Node<'a, '_>, chain: u32) -> Result<Copies, DecodeError> {
        let mut total = Copies::default();
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            if !n.is_element() {
                continue;
            }
            total.elements = total.elements.saturating_add(1);
            let tag = n.tag_name().name();
            let shapes_below = || n.descendants().filter(Node::is_element).count() as u64;
            for attr in n.attributes() {
                let name = attr.name();
                let value = attr.value();
                if name == "href" && tag == "image" && value.trim_start().starts_with("data:") {
                    total.data_bytes = total.data_bytes.saturating_add(value.len() as u64);
                }
                if name == "href" && matches!(tag, "use" | "feImage") {
                    if let Some(id) = value.trim().strip_prefix('#') {
                        let target = self.target_size(id, chain)?;
                        total.add(target, 1);
                    }
                    continue;
                }
                for id in url_refs(value) {
                    let each = self.target_size(id, chain)?;
                    let times = if name.starts_with("marker") || name == "style" {
                        vertices(n).saturating_mul(shapes_below())
                    } else if matches!(name, "fill" | "stroke") {
                        shapes_below()
                    } else {
                        1
                    };
                    total.add(each, times);
                }
            }
            if total.over() {
                return Ok(total);
            }
            stack.extend(n.children());
        }
        Ok(total)
    }
}

/// The ids in the `url(#id)` references of a value.
fn url_refs(value: &str) -> impl Iterator<Item = &str> {
    value.match_indices("url(").filter_map(move |(at, _)| {
        let rest = value[at + 4..].trim_start().trim_start_matches(['"', '\'']);
        let rest = rest.strip_prefix('#')?;
        let end = rest.find(|c: char| matches!(c, ')' | '"' | '\'') || c.is_whitespace())?;
        Some(&rest[..end])
    })
}

/// An upper estimate of a shape's vertices (markers are placed on each): its numbers.
fn vertices(node: Node) -> u64 {
    let numbers = |s: &str| {
        s.split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|t| !t.is_empty())
            .count() as u64
    };
    let d = node.attribute("d").map_or(0, numbers);
    let points = node.attribute("points").map_or(0, numbers);
    (d + points).max(2)
}
