//! `iotexplorer search WORDS...`: the actions that match some words, best first, found by
//! action name (any case, any order, a typo or two), member names, English descriptions
//! and Tencent's Chinese titles and member names. The same matcher suggests the closest
//! names when a call names an action that does not exist.

use std::cmp::Reverse;
use std::fmt::Write as _;
use std::io::Write;

use clap::{Arg, ArgAction, Command};
use iotexplorer_model::{ActionMeta, ActionStatus, MemberMeta, actions};
use serde_json::{Value, json};

use crate::failure::Failure;
use crate::settings::SearchSettings;

/// The subcommand's name.
pub(crate) const SEARCH: &str = "search";

/// How many actions are listed unless `--limit` says otherwise.
pub(crate) const DEFAULT_LIMIT: usize = 10;
/// How many names "did you mean" offers at most.
const MAX_SUGGESTIONS: usize = 3;
/// Query words are cut to this many characters and queries to this many words, so that
/// any input is answered quickly (the typo distance is quadratic in the word length).
const MAX_WORD_CHARS: usize = 64;
const MAX_WORDS: usize = 16;

/// Scores of one query word against one action, from the strongest kind of match to the
/// weakest. Integers, so that ranking is exact and the same on every machine.
mod weight {
    pub(super) const NAME_WORD: u32 = 100;
    pub(super) const NAME_SYNONYM: u32 = 80;
    pub(super) const NAME_PREFIX: u32 = 70;
    pub(super) const NAME_ONE_TYPO: u32 = 60;
    pub(super) const NAME_TWO_TYPOS: u32 = 45;
    pub(super) const NAME_PART: u32 = 50;
    pub(super) const MEMBER_NAME: u32 = 50;
    pub(super) const MEMBER_WORD: u32 = 35;
    pub(super) const MEMBER_TYPO: u32 = 20;
    /// Taken off a member match when the member is one of the response's: what an action
    /// takes says more about it than what it returns.
    pub(super) const OUTPUT_MEMBER_PENALTY: u32 = 10;
    pub(super) const DOC_WORD: u32 = 20;
    pub(super) const DOC_TYPO: u32 = 10;
    pub(super) const TITLE_EXACT: u32 = 150;
    pub(super) const TITLE_PART: u32 = 100;
    /// Scaled by the share of the word's character pairs found in the title.
    pub(super) const TITLE_PAIRS: u32 = 80;
    pub(super) const TITLE_CHAR: u32 = 40;
    pub(super) const MEMBER_ZH_PART: u32 = 30;
    /// Bonus when the words, run together, are the action's name.
    pub(super) const WHOLE_NAME: u32 = 1000;
    /// Bonus when they are the name but for typos, less per typo.
    pub(super) const WHOLE_NAME_TYPO: u32 = 500;
    pub(super) const PER_WHOLE_NAME_TYPO: u32 = 100;
    /// Bonus when the words, run together, are the name of a request member (less for a
    /// response member).
    pub(super) const WHOLE_MEMBER_NAME: u32 = 300;
    pub(super) const WHOLE_OUTPUT_MEMBER_NAME: u32 = 200;
    /// Bonus per query word when every word matched something.
    pub(super) const ALL_WORDS: u32 = 30;
    /// Bonus scaled by how much of the action's name (or Chinese title) the words cover,
    /// so that the tighter of two names matching the same words comes first.
    pub(super) const COVERAGE: u32 = 40;
}

/// Query words that mean a word of action names.
const SYNONYMS: &[(&str, &str)] = &[
    ("upgrade", "update"),
    ("ota", "firmware"),
    ("fw", "firmware"),
    ("remove", "delete"),
    ("add", "create"),
    ("new", "create"),
    ("edit", "modify"),
    ("change", "modify"),
    ("show", "describe"),
    ("query", "describe"),
    ("progress", "status"),
];

/// Words too common in descriptions to say anything.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "at", "by", "for", "from", "in", "is", "it", "its", "of", "on", "or", "that",
    "the", "to", "with",
];

/// Families of actions, by a part of their name; the first that matches wins, so the more
/// specific parts come first.
const FAMILIES: &[(&str, &[&str])] = &[
    (
        "firmware/OTA",
        &["Firmware", "FirmWare", "Ota", "GetCOSURL"],
    ),
    (
        "TWeSee/TWeTalk/TWeCall",
        &["TWeSee", "TWeTalk", "TWeCall", "WeCall"],
    ),
    (
        "video/cloud storage",
        &[
            "CloudStorage",
            "Video",
            "P2P",
            "SDP",
            "TRTC",
            "Vod",
            "AISearch",
            "AIService",
            "ImagePackage",
            "PackageConsume",
            "PackageUsage",
            "DevicePackages",
            "CsReport",
        ],
    ),
    ("LoRa", &["LoRa"]),
    (
        "location/fences",
        &["Position", "Fence", "Location", "Space"],
    ),
    (
        "messages/rules",
        &["Topic", "Message", "RRPC", "EventHistory"],
    ),
    ("certificates", &["CA", "CAs"]),
    (
        "gateways",
        &["Gateway", "BindDevices", "BindProducts", "BindedProducts"],
    ),
    (
        "projects/instances",
        &["Project", "Instance", "Application", "LicenseOverview"],
    ),
    (
        "users/apps",
        &["User", "Family", "Share", "MiniProgram", "Wechat", "Room"],
    ),
    ("devices", &["Device"]),
    (
        "products",
        &["Product", "ModelDefinition", "DynamicRegister"],
    ),
];

/// The family an action belongs to (`firmware/OTA`, `devices`, `products`, ...).
pub(crate) fn family(name: &str) -> &'static str {
    for (family, parts) in FAMILIES {
        let found = parts.iter().any(|part| {
            if *part == "CA" || *part == "CAs" {
                // `CA` as a word of its own, not the `Ca` of `Call`.
                name.ends_with(part) || name.contains(&format!("{part}B"))
            } else {
                name.contains(part)
            }
        });
        if found {
            return family;
        }
    }
    "other"
}

/// The longest summary in the table, in columns; longer ones are cut with an ellipsis.
const SUMMARY_MAX_WIDTH: usize = 100;

/// One line about an action: the first sentence of its English description, or else the
/// members it requires.
pub(crate) fn summary(meta: &ActionMeta) -> String {
    let doc = meta.doc.trim();
    if !doc.is_empty() {
        let paragraph = doc.split("\n\n").next().unwrap_or(doc);
        let sentence = match paragraph.find(". ") {
            Some(end) => &paragraph[..=end],
            None => paragraph,
        };
        return sentence.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    let required: Vec<String> = meta
        .input
        .iter()
        .filter(|member| member.required)
        .map(|member| format!("--{}", member.name))
        .collect();
    if required.is_empty() {
        "no required members".to_owned()
    } else {
        format!("needs {}", required.join(" "))
    }
}

/// An action that matched, with its score.
#[derive(Clone, Debug)]
pub(crate) struct Hit {
    pub(crate) meta: &'static ActionMeta,
    pub(crate) score: u32,
    /// Whether every query word matched something of the action.
    pub(crate) all_words: bool,
}

/// The query, split once.
struct Query {
    /// Lower-case ASCII words; CamelCase words are split (`BatchUpdate` -> batch, update).
    words: Vec<String>,
    /// The words run together, lower-case, for comparing with a whole action name.
    compact: String,
    /// Words holding Chinese, as given.
    chinese: Vec<Vec<char>>,
}

impl Query {
    fn parse(raw: &[&str]) -> Query {
        let mut words = Vec::new();
        let mut compact = String::new();
        let mut chinese = Vec::new();
        for piece in raw
            .iter()
            .flat_map(|text| text.split(|c: char| c.is_whitespace() || is_separator(c)))
            .filter(|piece| !piece.is_empty())
            .take(MAX_WORDS)
        {
            let piece: String = piece.chars().take(MAX_WORD_CHARS).collect();
            let (han, latin): (String, String) = piece.chars().partition(|c| is_cjk(*c));
            if !han.is_empty() {
                chinese.push(han.chars().collect());
            }
            for word in split_camel_case(&latin) {
                compact.push_str(&word);
                words.push(word);
            }
        }
        Query {
            words,
            compact,
            chinese,
        }
    }

    fn is_empty(&self) -> bool {
        self.words.is_empty() && self.chinese.is_empty()
    }
}

fn is_separator(c: char) -> bool {
    matches!(
        c,
        ',' | '.' | ';' | ':' | '/' | '-' | '_' | '(' | ')' | '"' | '\'' | '，' | '、' | '。'
    )
}

/// Whether `c` is a CJK ideograph (the unified block and its first extension).
fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

/// `BatchUpdateFirmware` -> batch, update, firmware; `GetCOSURL` -> get, cosurl; words
/// already in lower case stay whole. Only ASCII letters and digits are kept. The words
/// are those of the model's Rust names (`batch_update_firmware`), by the same rule.
fn split_camel_case(text: &str) -> Vec<String> {
    let letters: String = text.chars().filter(char::is_ascii_alphanumeric).collect();
    iotexplorer_model::naming::snake_case(&letters)
        .split('_')
        .filter(|word| !word.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The edit distance (insertions, deletions, substitutions, swaps of neighbours) between
/// two words, or `None` when it is above `limit`.
fn distance_within(a: &[u8], b: &[u8], limit: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let width = b.len() + 1;
    let mut before_previous = vec![0usize; width];
    let mut previous: Vec<usize> = (0..width).collect();
    let mut current = vec![0usize; width];
    for i in 1..=a.len() {
        current[0] = i;
        let mut row_best = current[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut value = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                value = value.min(before_previous[j - 2] + 1);
            }
            current[j] = value;
            row_best = row_best.min(value);
        }
        if row_best > limit {
            return None;
        }
        std::mem::swap(&mut before_previous, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    let distance = previous[b.len()];
    (distance <= limit).then_some(distance)
}

/// How many typos a word of this length may carry and still match.
fn typo_allowance(length: usize) -> usize {
    match length {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// `firmwares` and `firmware` are the same word.
fn singular(word: &str) -> &str {
    if word.len() > 3 && word.ends_with('s') && !word.ends_with("ss") {
        &word[..word.len() - 1]
    } else {
        word
    }
}

/// What an action offers to be matched, computed once per search.
struct Candidate {
    meta: &'static ActionMeta,
    name_words: Vec<String>,
    compact_name: String,
    members: Vec<MemberWords>,
    doc_words: Vec<String>,
    title: Vec<char>,
}

struct MemberWords {
    output: bool,
    compact: String,
    words: Vec<String>,
    name_zh: &'static str,
}

impl Candidate {
    fn of(meta: &'static ActionMeta) -> Candidate {
        let member_words = |(output, member): (bool, &MemberMeta)| MemberWords {
            output,
            compact: member.name.to_ascii_lowercase(),
            words: split_camel_case(member.name),
            name_zh: member.name_zh,
        };
        let mut doc_words: Vec<String> = meta
            .doc
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|word| word.len() > 1)
            .map(str::to_ascii_lowercase)
            .filter(|word| !STOP_WORDS.contains(&word.as_str()))
            .collect();
        doc_words.sort();
        doc_words.dedup();
        Candidate {
            meta,
            name_words: split_camel_case(meta.name),
            compact_name: meta.name.to_ascii_lowercase(),
            // Output members tell what an action returns, which is worth finding too; the
            // RequestId every response ends with is not.
            members: meta
                .input
                .iter()
                .map(|member| (false, member))
                .chain(
                    meta.output
                        .iter()
                        .filter(|m| m.name != "RequestId")
                        .map(|member| (true, member)),
                )
                .map(member_words)
                .collect(),
            doc_words,
            title: meta.title_zh.chars().collect(),
        }
    }

    /// The score of one English word, and which name words it matched.
    fn word_score(&self, word: &str, matched_name_words: &mut [bool]) -> u32 {
        let mut best = 0;
        let allowance = typo_allowance(word.len());
        let synonym = SYNONYMS
            .iter()
            .find(|(from, _)| *from == word)
            .map(|(_, to)| *to);
        for (index, name_word) in self.name_words.iter().enumerate() {
            let score = if singular(name_word) == singular(word) {
                weight::NAME_WORD
            } else if synonym == Some(name_word.as_str()) {
                weight::NAME_SYNONYM
            } else if word.len() >= 3 && name_word.starts_with(word) {
                weight::NAME_PREFIX
            } else {
                match distance_within(word.as_bytes(), name_word.as_bytes(), allowance) {
                    Some(1) => weight::NAME_ONE_TYPO,
                    Some(2) => weight::NAME_TWO_TYPOS,
                    _ => 0,
                }
            };
            if score > 0
                && let Some(flag) = matched_name_words.get_mut(index)
            {
                *flag = true;
            }
            best = best.max(score);
        }
        if best == 0 && word.len() >= 4 && self.compact_name.contains(word) {
            best = weight::NAME_PART;
        }
        for member in &self.members {
            let score = if member.compact == word {
                weight::MEMBER_NAME
            } else if member.words.iter().any(|w| singular(w) == singular(word)) {
                weight::MEMBER_WORD
            } else if allowance > 0
                && member
                    .words
                    .iter()
                    .any(|w| distance_within(word.as_bytes(), w.as_bytes(), allowance).is_some())
            {
                weight::MEMBER_TYPO
            } else {
                0
            };
            let score = if member.output {
                score.saturating_sub(weight::OUTPUT_MEMBER_PENALTY)
            } else {
                score
            };
            best = best.max(score);
        }
        if best < weight::DOC_WORD {
            for doc_word in &self.doc_words {
                let score = if singular(doc_word) == singular(word) {
                    weight::DOC_WORD
                } else if allowance > 0
                    && distance_within(word.as_bytes(), doc_word.as_bytes(), allowance).is_some()
                {
                    weight::DOC_TYPO
                } else {
                    0
                };
                best = best.max(score);
            }
        }
        best
    }

    /// The score of one Chinese word, marking the title characters it covers.
    fn chinese_score(&self, word: &[char], covered: &mut [bool]) -> u32 {
        let mut best = 0;
        if !self.title.is_empty() {
            if let Some(start) = find_chars(&self.title, word) {
                for flag in covered.iter_mut().skip(start).take(word.len()) {
                    *flag = true;
                }
                best = if word.len() == self.title.len() {
                    weight::TITLE_EXACT
                } else {
                    weight::TITLE_PART
                };
            } else if word.len() >= 2 {
                let pairs = word.len() - 1;
                let mut found = 0u32;
                for pair in word.windows(2) {
                    if let Some(start) = find_chars(&self.title, pair) {
                        found += 1;
                        for flag in covered.iter_mut().skip(start).take(2) {
                            *flag = true;
                        }
                    }
                }
                let share = found * weight::TITLE_PAIRS / u32::try_from(pairs).unwrap_or(u32::MAX);
                best = share;
            } else if word.first().is_some_and(|c| self.title.contains(c)) {
                best = weight::TITLE_CHAR;
            }
        }
        if best < weight::MEMBER_ZH_PART {
            let text: String = word.iter().collect();
            if self
                .members
                .iter()
                .any(|member| !member.name_zh.is_empty() && member.name_zh.contains(&text))
            {
                best = weight::MEMBER_ZH_PART;
            }
        }
        best
    }

    fn score(&self, query: &Query) -> Hit {
        let mut matched_name_words = vec![false; self.name_words.len()];
        let mut covered_title = vec![false; self.title.len()];
        let mut score = 0u32;
        let mut all_words = true;
        for word in &query.words {
            let word_score = self.word_score(word, &mut matched_name_words);
            all_words &= word_score > 0;
            score += word_score;
        }
        for word in &query.chinese {
            let word_score = self.chinese_score(word, &mut covered_title);
            all_words &= word_score > 0;
            score += word_score;
        }
        if score == 0 {
            return Hit {
                meta: self.meta,
                score: 0,
                all_words: false,
            };
        }
        let compact = &query.compact;
        if !compact.is_empty() {
            if *compact == self.compact_name {
                score += weight::WHOLE_NAME;
            } else if let Some(typos) = distance_within(
                compact.as_bytes(),
                self.compact_name.as_bytes(),
                typo_allowance(compact.len()),
            ) {
                let typos = u32::try_from(typos).unwrap_or(u32::MAX);
                score += weight::WHOLE_NAME_TYPO
                    .saturating_sub(typos.saturating_mul(weight::PER_WHOLE_NAME_TYPO));
            }
        }
        if let Some(member) = self
            .members
            .iter()
            .filter(|member| !compact.is_empty() && member.compact == *compact)
            .min_by_key(|member| member.output)
        {
            score += if member.output {
                weight::WHOLE_OUTPUT_MEMBER_NAME
            } else {
                weight::WHOLE_MEMBER_NAME
            };
        }
        if all_words {
            let words = query.words.len() + query.chinese.len();
            score += weight::ALL_WORDS * u32::try_from(words).unwrap_or(0);
        }
        score += coverage(&matched_name_words) + coverage(&covered_title);
        Hit {
            meta: self.meta,
            score,
            all_words,
        }
    }
}

/// The bonus for covering `flags`: `COVERAGE` when all are set, nothing when none is.
fn coverage(flags: &[bool]) -> u32 {
    let total = u32::try_from(flags.len()).unwrap_or(u32::MAX);
    if total == 0 {
        return 0;
    }
    let set = u32::try_from(flags.iter().filter(|flag| **flag).count()).unwrap_or(0);
    weight::COVERAGE * set / total
}

fn find_chars(haystack: &[char], needle: &[char]) -> Option<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Every action that matches `words`, best first. Ties go to actions the service still
/// offers, then to the shorter name, then alphabetically, so the order is always the same.
pub(crate) fn search(words: &[&str]) -> Vec<Hit> {
    let query = Query::parse(words);
    if query.is_empty() {
        return Vec::new();
    }
    let mut hits: Vec<Hit> = actions()
        .iter()
        .map(|meta| Candidate::of(meta).score(&query))
        .filter(|hit| hit.score > 0)
        .collect();
    hits.sort_by_key(|hit| {
        (
            Reverse(hit.score),
            hit.meta.status == ActionStatus::Deprecated,
            hit.meta.name.len(),
            hit.meta.name,
        )
    });
    hits
}

/// The closest action names to `name`, for "did you mean": those that match every word of
/// it and score at least half as well as the best.
pub(crate) fn suggestions(name: &str) -> Vec<&'static str> {
    let hits = search(&[name]);
    let Some(best) = hits.first().map(|hit| hit.score) else {
        return Vec::new();
    };
    hits.iter()
        .filter(|hit| hit.all_words && hit.score * 2 >= best)
        .take(MAX_SUGGESTIONS)
        .map(|hit| hit.meta.name)
        .collect()
}

/// The error for a call of an action that does not exist, with the closest names; `None`
/// when nothing is close, or when the name is (nearly) one of the tool's own subcommands,
/// so that the parser's own message and hint stand.
pub(crate) fn unknown_action(name: &str) -> Option<Failure> {
    let lower = name.to_ascii_lowercase();
    let near_subcommand = crate::command::TOOL_SUBCOMMANDS.iter().any(|subcommand| {
        distance_within(
            lower.as_bytes(),
            subcommand.as_bytes(),
            typo_allowance(subcommand.len()),
        )
        .is_some()
    });
    if near_subcommand {
        return None;
    }
    let close = suggestions(name);
    let (first, rest) = close.split_first()?;
    let mut message = format!("unknown action `{name}`; did you mean `{first}`");
    for other in rest {
        let _ = write!(message, ", `{other}`");
    }
    message.push_str("? (`iotexplorer search WORDS` finds an action by what it does)");
    Some(Failure::Usage(message))
}

/// The `search` subcommand.
pub(crate) fn command() -> Command {
    Command::new(SEARCH)
        .about("Find an action: by name (any case or order, typos forgiven), member, description or Chinese name")
        .long_about(
            "Lists the actions that match WORDS, best first: by action name (any case, any \
             word order, a typo or two), member names, English descriptions, and Tencent's \
             Chinese titles and member names (`iotexplorer search 固件 升级`). Each line shows \
             the action, its Chinese title, its family, whether it only reads, and a summary. \
             With --output json, a list of objects for scripts.",
        )
        .arg(
            Arg::new("words")
                .value_name("WORDS")
                .required(true)
                .num_args(1..)
                .help("What to look for"),
        )
        .arg(
            Arg::new("limit")
                .long("limit")
                .value_name("N")
                .value_parser(clap::value_parser!(u16).range(1..))
                .help("List at most N actions [default: 10]"),
        )
        .arg(
            Arg::new("all")
                .long("all")
                .action(ArgAction::SetTrue)
                .conflicts_with("limit")
                .help("List every matching action"),
        )
}

/// Runs `search`: prints the hits as a table, or as JSON with `--output json`.
pub(crate) fn run(settings: &SearchSettings, stdout: &mut dyn Write) -> Result<u8, Failure> {
    let words: Vec<&str> = settings.words.iter().map(String::as_str).collect();
    let hits: Vec<Hit> = search(&words).into_iter().take(settings.limit).collect();
    let text = if settings.json {
        crate::output::json(&hits_json(&hits))
    } else if hits.is_empty() {
        format!(
            "no action matches {:?}; try fewer or other words\n",
            words.join(" ")
        )
    } else {
        table(&hits)
    };
    crate::output::write_out(stdout, &text)?;
    Ok(0)
}

fn hits_json(hits: &[Hit]) -> Value {
    Value::Array(
        hits.iter()
            .map(|hit| {
                json!({
                    "Action": hit.meta.name,
                    "TitleZh": hit.meta.title_zh,
                    "Family": family(hit.meta.name),
                    "ReadOnly": hit.meta.read_only,
                    "Deprecated": hit.meta.status == ActionStatus::Deprecated,
                    "Summary": summary(hit.meta),
                    "Score": hit.score,
                })
            })
            .collect(),
    )
}

/// Columns of the text output, padded by display width (a Chinese character takes two).
fn table(hits: &[Hit]) -> String {
    let rows: Vec<[String; 5]> = hits
        .iter()
        .map(|hit| {
            let mut summary = summary(hit.meta);
            if hit.meta.status == ActionStatus::Deprecated {
                summary.insert_str(0, "(deprecated) ");
            }
            let summary = cut_to_width(&summary, SUMMARY_MAX_WIDTH);
            [
                hit.meta.name.to_owned(),
                hit.meta.title_zh.to_owned(),
                family(hit.meta.name).to_owned(),
                if hit.meta.read_only {
                    "reads".to_owned()
                } else {
                    "writes".to_owned()
                },
                summary,
            ]
        })
        .collect();
    let header = ["ACTION", "中文名称", "FAMILY", "ACCESS", "SUMMARY"].map(str::to_owned);
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row.iter()) {
            *width = (*width).max(display_width(cell));
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        for (cell, width) in row.iter().zip(widths) {
            out.push_str(cell);
            out.push_str(&" ".repeat(width - display_width(cell) + 2));
        }
        out.push_str(&row[4]);
        out.push('\n');
    }
    out
}

/// `text` cut to at most `width` columns, ending in an ellipsis when cut.
fn cut_to_width(text: &str, width: usize) -> String {
    if display_width(text) <= width {
        return text.to_owned();
    }
    let mut cut = String::new();
    let mut used = 0;
    for c in text.chars() {
        let columns = display_width(c.encode_utf8(&mut [0; 4]));
        if used + columns + 1 > width {
            break;
        }
        cut.push(c);
        used += columns;
    }
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

/// Terminal columns a text takes: two for wide (CJK and full-width) characters.
fn display_width(text: &str) -> usize {
    text.chars()
        .map(|c| {
            let wide = is_cjk(c)
                || matches!(c, '\u{3000}'..='\u{303f}' | '\u{ff00}'..='\u{ff60}' | '\u{ffe0}'..='\u{ffe6}');
            if wide { 2 } else { 1 }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_words_match_the_model_naming() {
        assert_eq!(
            split_camel_case("BatchUpdateFirmware"),
            ["batch", "update", "firmware"]
        );
        assert_eq!(split_camel_case("GetCOSURL"), ["get", "cosurl"]);
        assert_eq!(split_camel_case("HTTPServer"), ["http", "server"]);
        assert_eq!(split_camel_case("firmware"), ["firmware"]);
        assert_eq!(split_camel_case("FileMd5"), ["file", "md5"]);
    }

    #[test]
    fn distance_counts_swaps_as_one_and_stops_at_the_limit() {
        assert_eq!(distance_within(b"btach", b"batch", 2), Some(1));
        assert_eq!(distance_within(b"firmwre", b"firmware", 2), Some(1));
        assert_eq!(distance_within(b"frmwre", b"firmware", 2), Some(2));
        assert_eq!(distance_within(b"device", b"firmware", 2), None);
        assert_eq!(distance_within(b"", b"ab", 2), Some(2));
    }

    #[test]
    fn families_follow_the_name() {
        assert_eq!(family("BatchUpdateFirmware"), "firmware/OTA");
        assert_eq!(family("DescribeDeviceFirmWare"), "firmware/OTA");
        assert_eq!(family("DescribeDevice"), "devices");
        assert_eq!(family("CreateStudioProduct"), "products");
        assert_eq!(family("CreatePrivateCA"), "certificates");
        assert_eq!(family("DescribePrivateCABindedProducts"), "certificates");
        assert_eq!(family("CallDeviceActionSync"), "devices");
        assert_eq!(family("CreateTWeSeeService"), "TWeSee/TWeTalk/TWeCall");
    }

    #[test]
    fn wide_characters_take_two_columns() {
        assert_eq!(display_width("批量升级固件"), 12);
        assert_eq!(display_width("abc"), 3);
    }
}
