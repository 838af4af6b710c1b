//! One running game: the [`Game`] state with the current turn's pending
//! orders and reports, and the operations the API offers (no I/O here; the
//! [`crate::store`] persists what these return).

use crate::game::{Game, RaceId};
use crate::map::{MapError, new_game};
use crate::order::RaceOrders;
use crate::parser::parse_orders;
use crate::report::{build_report, build_reports, race_state};
use crate::turn::{banish, run_turn};
use galaxy_model::api::*;
use galaxy_model::limits::{
    MAX_GAME_ID_BYTES, MAX_MESSAGE_BYTES_PER_SET, MAX_ORDER_TEXT_BYTES, MAX_ORDERS_PER_SET,
};
use galaxy_model::order::{Order, OrderLine};
use galaxy_model::report::Report;
use std::collections::BTreeMap;
use thiserror::Error;

/// Why an engine operation was refused.
#[derive(Debug, Error, PartialEq)]
pub enum EngineError {
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// Unknown race key.
    #[error("unknown race {0}")]
    UnknownRace(String),
    /// The race is dead or banished.
    #[error("race {0} is no longer in the game")]
    RaceNotAlive(String),
    /// The request names another turn.
    #[error("turn {requested} is not the current turn {current}")]
    TurnMismatch {
        /// Requested.
        requested: u32,
        /// Current.
        current: u32,
    },
    /// No order line with that id.
    #[error("no order line {0}")]
    OrderNotFound(String),
    /// An init setting out of its range.
    #[error("{field}: {message}")]
    InvalidSettings {
        /// The request field at fault.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A documented limit would be exceeded.
    #[error("{field}: more than {limit} {what}")]
    LimitExceeded {
        /// The request field at fault.
        field: &'static str,
        /// What is counted.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
}

impl From<MapError> for EngineError {
    fn from(e: MapError) -> Self {
        let MapError::BadSettings { field, message } = e;
        EngineError::InvalidSettings { field, message }
    }
}

impl EngineError {
    /// The API error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            EngineError::Invalid(_) => ErrorCode::InvalidRequest,
            EngineError::UnknownRace(_) => ErrorCode::UnknownRace,
            EngineError::RaceNotAlive(_) => ErrorCode::RaceNotAlive,
            EngineError::TurnMismatch { .. } => ErrorCode::TurnMismatch,
            EngineError::OrderNotFound(_) => ErrorCode::OrderNotFound,
            EngineError::InvalidSettings { .. } => ErrorCode::InvalidSettings,
            EngineError::LimitExceeded { .. } => ErrorCode::LimitExceeded,
        }
    }

    /// The request field at fault, for the error body.
    pub fn field(&self) -> Option<String> {
        match self {
            EngineError::InvalidSettings { field, .. } => Some(field.clone()),
            EngineError::LimitExceeded { field, .. } => Some(field.to_string()),
            _ => None,
        }
    }
}

/// A game with its pending orders and current reports.
#[derive(Debug, Clone)]
pub struct Engine {
    /// The state at the current turn.
    pub game: Game,
    /// Pending orders per race key, for the current turn.
    pub pending: BTreeMap<String, RaceOrders>,
    /// Reports of the current turn per race key.
    pub reports: BTreeMap<String, Report>,
}

impl Engine {
    /// Creates turn 0.
    pub fn init(req: &InitRequest) -> Result<Engine, EngineError> {
        if req.game_id.trim().is_empty() || req.game_id.len() > MAX_GAME_ID_BYTES {
            return Err(EngineError::InvalidSettings {
                field: "game_id".into(),
                message: format!("1 to {MAX_GAME_ID_BYTES} bytes"),
            });
        }
        let names: Vec<String> = req.races.iter().map(|r| r.name.clone()).collect();
        let game = new_game(&req.game_id, req.seed, req.settings.clone(), &names)?;
        Ok(Engine::resume(game, BTreeMap::new()))
    }

    /// Wraps a loaded state and pending orders; reports are built when
    /// first asked for ([`Engine::report`]).
    pub fn resume(game: Game, pending: BTreeMap<String, RaceOrders>) -> Engine {
        Engine {
            game,
            pending,
            reports: BTreeMap::new(),
        }
    }

    /// A copy to change and then swap in (so a failure leaves the engine
    /// as it was): the state and pending orders, without the report cache.
    pub fn working_copy(&self) -> Engine {
        Engine {
            game: self.game.clone(),
            pending: self.pending.clone(),
            reports: BTreeMap::new(),
        }
    }

    /// A race's report of the current turn, built on first use (a report is
    /// a pure function of the state). `None` for an unknown race key.
    pub fn report(&mut self, key: &str) -> Option<&Report> {
        if !self.reports.contains_key(key) {
            let r = self.game.races.iter().position(|x| x.key == key)?;
            let report = build_report(&self.game, RaceId(r));
            self.reports.insert(key.to_string(), report);
        }
        self.reports.get(key)
    }

    /// All races' reports for the current state.
    pub fn build_reports(&self) -> BTreeMap<String, Report> {
        build_reports(&self.game)
    }

    /// The status table.
    pub fn status(&self, generation: GenerationState) -> StatusResponse {
        // One pass over the planets: (planets, effective industry) per race.
        let mut owned = vec![(0u32, 0.0f64); self.game.races.len()];
        for p in &self.game.planets {
            if let Some(o) = p.owner {
                owned[o.0].0 += 1;
                owned[o.0].1 += crate::planet::effective_industry(p);
            }
        }
        StatusResponse {
            game_id: self.game.game_id.clone(),
            turn: self.game.turn,
            generation,
            races: self
                .game
                .races
                .iter()
                .enumerate()
                .map(|(i, r)| RaceStatus {
                    race: r.key.clone(),
                    name: r.name.clone(),
                    state: race_state(&self.game, RaceId(i)),
                    orders_in: self.pending.contains_key(&r.key),
                    industry: crate::report::t2(owned[i].1),
                    planets: owned[i].0,
                })
                .collect(),
        }
    }

    fn race(&self, key: &str) -> Result<RaceId, EngineError> {
        self.game
            .races
            .iter()
            .position(|r| r.key == key)
            .map(RaceId)
            .ok_or_else(|| EngineError::UnknownRace(key.to_string()))
    }

    fn acting_race(&self, key: &str, turn: u32) -> Result<RaceId, EngineError> {
        let r = self.race(key)?;
        if self.game.races[r.0].dead {
            return Err(EngineError::RaceNotAlive(key.to_string()));
        }
        if turn != self.game.turn {
            return Err(EngineError::TurnMismatch {
                requested: turn,
                current: self.game.turn,
            });
        }
        Ok(r)
    }

    /// Replaces a race's whole order set.
    pub fn put_orders(&mut self, req: &PutOrdersRequest) -> Result<PutOrdersResponse, EngineError> {
        let r = self.acting_race(&req.race, req.turn)?;
        let set = match &req.text {
            Some(text) => {
                if text.len() > MAX_ORDER_TEXT_BYTES {
                    return Err(EngineError::LimitExceeded {
                        field: "text",
                        what: "bytes",
                        limit: MAX_ORDER_TEXT_BYTES,
                    });
                }
                if !req.orders.is_empty() {
                    return Err(EngineError::Invalid(
                        "give either orders or text, not both".into(),
                    ));
                }
                let parsed = parse_orders(text);
                if let Some(h) = &parsed.header {
                    let race = &self.game.races[r.0];
                    if !h.race.eq_ignore_ascii_case(&race.key)
                        && !h.race.eq_ignore_ascii_case(&race.name)
                    {
                        return Err(EngineError::Invalid(format!(
                            "the #GALAXY header names race {}",
                            h.race
                        )));
                    }
                    if let Some(t) = h.turn
                        && t != self.game.turn
                    {
                        return Err(EngineError::TurnMismatch {
                            requested: t,
                            current: self.game.turn,
                        });
                    }
                }
                RaceOrders {
                    lines: parsed.lines,
                    mistakes: parsed.mistakes,
                }
            }
            None => {
                check_ids(&req.orders)?;
                RaceOrders {
                    lines: req.orders.clone(),
                    mistakes: Vec::new(),
                }
            }
        };
        check_set_limits(&set.lines)?;
        let resp = PutOrdersResponse {
            race: req.race.clone(),
            turn: req.turn,
            orders: set.lines.clone(),
            mistakes: set.mistakes.clone(),
        };
        self.pending.insert(req.race.clone(), set);
        Ok(resp)
    }

    /// Adds, replaces or deletes one order line.
    pub fn put_command(
        &mut self,
        req: &PutCommandRequest,
    ) -> Result<PutCommandResponse, EngineError> {
        self.acting_race(&req.race, req.turn)?;
        if req.id.is_empty() {
            return Err(EngineError::Invalid("the line id must not be empty".into()));
        }
        let set = self.pending.entry(req.race.clone()).or_default();
        let pos = set.lines.iter().position(|l| l.id == req.id);
        let outcome = match (&req.order, pos) {
            (Some(o), Some(p)) => {
                set.lines[p].order = o.clone();
                CommandOutcome::Replaced
            }
            (Some(o), None) => {
                set.lines.push(OrderLine {
                    id: req.id.clone(),
                    order: o.clone(),
                });
                CommandOutcome::Added
            }
            (None, Some(p)) => {
                set.lines.remove(p);
                CommandOutcome::Deleted
            }
            (None, None) => return Err(EngineError::OrderNotFound(req.id.clone())),
        };
        // The caller restores the set when this fails.
        check_set_limits(&set.lines)?;
        Ok(PutCommandResponse {
            outcome,
            orders: set.lines.clone(),
        })
    }

    /// Runs the current turn; pending orders are consumed and every report
    /// is built.
    pub fn run_turn(&mut self) {
        self.advance();
        self.reports = self.build_reports();
    }

    /// Runs the current turn; pending orders are consumed and the reports
    /// are left to be built when first asked for (what the HTTP API does,
    /// so a turn answers without building reports nobody has read yet).
    pub fn advance(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        // Rebuilt on first use, without the last turn's dead groups.
        self.game.fleet_index = Default::default();
        run_turn(&mut self.game, &pending);
        self.reports.clear();
    }

    /// Obliterates a race now.
    pub fn banish(&mut self, key: &str) -> Result<(), EngineError> {
        let r = self.race(key)?;
        if self.game.races[r.0].banished {
            return Ok(());
        }
        banish(&mut self.game, r);
        self.pending.remove(key);
        Ok(())
    }
}

/// The per-set limits: line count and message bytes.
fn check_set_limits(lines: &[OrderLine]) -> Result<(), EngineError> {
    if lines.len() > MAX_ORDERS_PER_SET {
        return Err(EngineError::LimitExceeded {
            field: "orders",
            what: "order lines",
            limit: MAX_ORDERS_PER_SET,
        });
    }
    let message_bytes: usize = lines
        .iter()
        .map(|l| match &l.order {
            Order::Message { to, text } => text.len() + to.iter().map(String::len).sum::<usize>(),
            _ => 0,
        })
        .sum();
    if message_bytes > MAX_MESSAGE_BYTES_PER_SET {
        return Err(EngineError::LimitExceeded {
            field: "orders",
            what: "bytes of messages",
            limit: MAX_MESSAGE_BYTES_PER_SET,
        });
    }
    Ok(())
}

fn check_ids(lines: &[OrderLine]) -> Result<(), EngineError> {
    let mut seen = std::collections::BTreeSet::new();
    for l in lines {
        if l.id.is_empty() || !seen.insert(l.id.as_str()) {
            return Err(EngineError::Invalid(format!(
                "order line ids must be unique and non-empty ({:?})",
                l.id
            )));
        }
    }
    Ok(())
}
