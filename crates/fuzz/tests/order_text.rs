//! Fuzz target `order_text`: the classic text order parser
//! (`galaxy_game::parser::parse_orders`) on arbitrary text, on text built
//! from the order language's words, and on mutations of real order files
//! (the corpus: examples from the engine's tests and docs, and
//! `galaxy-game bot` output). Every parse must keep its invariants, and the
//! orders it produced must survive `to_text` → parse unchanged.

use galaxy_fuzz::alloc::CountingAlloc;
use galaxy_fuzz::{corpus, fuzz, mutate, replay_corpus};
use galaxy_game::parser::{Parsed, parse_orders};
use galaxy_model::order::{Order, Product, Unit, parse_group};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value;

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

const TARGET: &str = "order_text";

/// Words of the order language worth splicing into inputs.
const TOKENS: &[&str] = &[
    "\n",
    "\r\n",
    " ",
    "\"",
    ";",
    "@",
    "@\n",
    "\n@\n",
    "#",
    "#GALAXY g r pw 0\n",
    "#END\n",
    "#galaxy",
    "max",
    "amount",
    "CAP",
    "COL",
    "MAT",
    "EMP",
    "DRIVE",
    "on",
    "off",
    "0",
    "-1",
    "4294967295",
    "4294967296",
    "1e308",
    "1e309",
    "NaN",
    "inf",
    "-0",
    "0.5",
    "#0",
    "#4294967296",
    "d ",
    "s ",
    "l ",
    "u ",
    "j ",
    "p ",
    "r ",
    "m ",
    "o ",
    "\u{0}",
    "\u{feff}",
    "é",
    "\u{2028}",
];

/// Checks what must hold of any parse, and that re-rendering the parsed
/// orders gives the same orders back.
fn check(text: &str) -> Result<(), String> {
    let parsed = parse_orders(text);
    if parsed != parse_orders(text) {
        return Err("two parses of one text differ".into());
    }
    invariants(text, &parsed)?;
    round_trip(&parsed)
}

fn invariants(text: &str, parsed: &Parsed) -> Result<(), String> {
    for (i, line) in parsed.lines.iter().enumerate() {
        if line.id != (i + 1).to_string() {
            return Err(format!("line {i} has id {:?}", line.id));
        }
    }
    let source_lines = text.lines().count();
    if parsed.lines.len() + parsed.mistakes.len() > source_lines {
        return Err(format!(
            "{} orders and {} mistakes from {source_lines} lines",
            parsed.lines.len(),
            parsed.mistakes.len()
        ));
    }
    let quoted: usize = parsed.mistakes.iter().map(|m| m.order.len()).sum();
    let reasons: usize = parsed.mistakes.iter().map(|m| m.reason.len()).sum();
    // A reason quotes at most its line, escaped (at most 10 bytes a byte).
    if quoted > text.len() || reasons > 10 * text.len() + 200 * parsed.mistakes.len() {
        return Err(format!(
            "mistakes hold {quoted} + {reasons} bytes for {} bytes of text",
            text.len()
        ));
    }
    Ok(())
}

/// The orders a parse produced, rendered with `to_text` and parsed again,
/// are the same orders: the classic form can carry whatever it parsed.
fn round_trip(parsed: &Parsed) -> Result<(), String> {
    let body: String = parsed
        .lines
        .iter()
        .map(|l| l.order.to_text() + "\n")
        .collect();
    let again = parse_orders(&format!("#GALAXY g r pw 1\n{body}#END\n"));
    if !again.mistakes.is_empty() {
        return Err(format!(
            "re-rendered orders do not parse: {:?}\n{body}",
            again.mistakes
        ));
    }
    let before: Vec<_> = parsed.lines.iter().map(|l| &l.order).collect();
    let after: Vec<_> = again.lines.iter().map(|l| &l.order).collect();
    if before != after {
        return Err(format!("re-rendered orders read back differently:\n{body}"));
    }
    Ok(())
}

/// Lines of order-language words and random fragments.
fn wordy_text() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        3 => select(TOKENS).prop_map(str::to_string),
        2 => "[a-z#@\"; ]{1,3}",
        1 => any::<u32>().prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_map(|x| x.to_string()),
        1 => "\\PC{1,12}",
    ];
    prop::collection::vec(prop::collection::vec(word, 0..8), 0..40).prop_map(|lines| {
        lines
            .into_iter()
            .map(|words| words.join(" ") + "\n")
            .collect()
    })
}

#[test]
fn the_corpus_parses_with_its_invariants() {
    replay_corpus(TARGET, |bytes| check(&String::from_utf8_lossy(&bytes)));
}

#[test]
fn arbitrary_text_parses_with_its_invariants() {
    fuzz("order_text/arbitrary", 300, "(?s).{0,2000}", |text| {
        check(&text)
    });
}

#[test]
fn text_of_order_words_parses_with_its_invariants() {
    fuzz("order_text/words", 300, wordy_text(), |text| check(&text));
}

#[test]
fn mutated_order_files_parse_with_their_invariants() {
    let strategy = mutate::mutated(corpus::seeds(TARGET), TOKENS);
    fuzz("order_text/mutated", 300, strategy, |bytes| {
        check(&String::from_utf8_lossy(&bytes))
    });
}

#[test]
fn long_lines_and_many_lines_stay_within_the_bounds() {
    let strategy = (select(TOKENS), 1usize..100_000, any::<bool>());
    fuzz(
        "order_text/long",
        24,
        strategy,
        |(token, times, with_space)| {
            let sep = if with_space { " " } else { "" };
            check(&vec![token; times].join(sep))
        },
    );
}

/// Every kind of typed order, as JSON: the corpus file with one of each letter.
fn order_samples() -> Vec<Value> {
    let (_, every) = corpus::load(TARGET)
        .into_iter()
        .find(|(name, _)| name == "every-letter.txt")
        .expect("corpus file every-letter.txt");
    parse_orders(&String::from_utf8_lossy(&every))
        .lines
        .iter()
        .map(|l| serde_json::to_value(&l.order).expect("an order serialises"))
        .collect()
}

/// Replaces the sample's strings (but its `kind`) and numbers, in order,
/// with `strings` and `numbers`.
fn refill(
    value: &mut Value,
    strings: &mut impl Iterator<Item = String>,
    numbers: &mut impl Iterator<Item = Value>,
) {
    match value {
        Value::String(s) => *s = strings.next().unwrap_or_default(),
        Value::Number(_) => *value = numbers.next().unwrap_or(Value::Null),
        Value::Array(items) => items.iter_mut().for_each(|v| refill(v, strings, numbers)),
        Value::Object(map) => map
            .iter_mut()
            .filter(|(k, _)| k.as_str() != "kind")
            .for_each(|(_, v)| refill(v, strings, numbers)),
        Value::Null | Value::Bool(_) => {}
    }
}

/// Typed orders of every kind with hostile names and numbers (those the
/// JSON form accepts).
fn typed_order() -> impl Strategy<Value = Order> {
    let string = prop_oneof![
        3 => "[A-Za-z0-9_#@;\\-]{1,12}",
        1 => "\\PC{0,12}",
        1 => select(&["max", "MAX", "#12", "#0", "-1", "1e3", "amount", "CAP", "on", " ", "a b", "\"x\""][..])
            .prop_map(str::to_string),
    ];
    let number = prop_oneof![
        any::<u32>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|x| serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)),
        (0u32..100).prop_map(Value::from),
    ];
    (
        select(order_samples()),
        prop::collection::vec(string, 6),
        prop::collection::vec(number, 6),
    )
        .prop_filter_map(
            "the JSON form refuses it",
            |(mut sample, strings, numbers)| {
                refill(
                    &mut sample,
                    &mut strings.into_iter(),
                    &mut numbers.into_iter(),
                );
                serde_json::from_value::<Order>(sample).ok()
            },
        )
}

/// The group or fleet an order acts on.
fn unit_of(order: &Order) -> Option<&Unit> {
    match order {
        Order::Reverse { unit }
        | Order::Intercept { unit, .. }
        | Order::Join { unit, .. }
        | Order::Send { unit, .. } => Some(unit),
        _ => None,
    }
}

/// Whether some string of `value` holds `c`.
fn holds(value: &Value, c: char) -> bool {
    match value {
        Value::String(s) => s.contains(c),
        Value::Array(items) => items.iter().any(|v| holds(v, c)),
        Value::Object(map) => map.values().any(|v| holds(v, c)),
        _ => false,
    }
}

/// A typed order the text form should carry, `to_text` then parsed, gives it
/// back. The text form has no escape for `"`: `quote` writes it as `'`
/// (by design), so names holding one are left out.
fn check_typed(order: &Order) -> Result<(), String> {
    if holds(
        &serde_json::to_value(order).map_err(|e| e.to_string())?,
        '"',
    ) {
        return Ok(());
    }
    // The engine refuses fleet names that are numbers and ship types named
    // as a product keyword (`CAP`); a fleet named `max` reads back as the
    // group `max`, which the engine resolves to that fleet first
    // (docs/decisions/0005-engine-rules.md).
    let refused_fleet =
        matches!(unit_of(order), Some(Unit::Fleet(name)) if parse_group(name).is_some());
    let refused_type = matches!(order, Order::Produce { product: Product::Ship(name), .. } if Product::is_keyword(name));
    // A message line that is a lone `@` ends the message in text (by design).
    let lone_at =
        matches!(order, Order::Message { text, .. } if text.split('\n').any(|l| l.trim() == "@"));
    if refused_fleet || refused_type || lone_at {
        return Ok(());
    }
    let text = format!("#GALAXY g r pw 1\n{}\n#END\n", order.to_text());
    let parsed = parse_orders(&text);
    match (parsed.lines.as_slice(), parsed.mistakes.as_slice()) {
        ([line], []) if &line.order == order => Ok(()),
        _ => Err(format!(
            "{order:?} is written {text:?} and reads back as {:?} / {:?}",
            parsed.lines, parsed.mistakes
        )),
    }
}

#[test]
fn typed_orders_read_back_from_their_text() {
    fuzz("order_text/typed", 500, typed_order(), |order| {
        check_typed(&order)
    });
}
